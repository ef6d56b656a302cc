//! On-call notification after a run (SPEC step 8, "Report"): one digest of
//! what is *new* — unmatched and ambiguous PodFactory users with their best
//! candidates, duplicates, orphans, other findings, a held run, a failed run,
//! failed actions — emailed as text and HTML and posted to optional JSON
//! webhooks (generic and Slack-compatible).
//!
//! Why it works this way:
//! - **Dedup by identity, not wording.** Each item has a stable key
//!   (`Finding::key`, `held_run|<run>`, …). A key sent within
//!   `notify.cooldown_hours` is left out; no digest at all when nothing is
//!   new. An item goes into `notification_log` only once a channel
//!   delivered it and no channel that should have carried it failed, so an
//!   outage delays a notification rather than losing it (at-least-once: a
//!   repeat beats a missed page).
//! - **Never the run's problem.** [`Notifier::after_run`] returns nothing:
//!   errors are logged, failed deliveries counted. It is bounded: `smtp_attempts` attempts
//!   of `smtp_timeout_secs` each with backoff, and after one message gives up
//!   on an unreachable server the other recipients' messages are not tried.
//!   The same attempts and timeout apply to the webhooks, posted concurrently.
//! - **People's decisions hold.** A finding someone acknowledged, or about
//!   a PodFactory user someone marked not an employee (`triage`), is not
//!   sent, however new.
//! - **Links to the console.** With `serve.public_url`, each item links to
//!   the console page where it is decided.
//! - **Recipients per kind.** `notify.to` gets every section; an address in
//!   `notify.recipients.<kind>` (and not in `to`) gets only its kinds'
//!   sections, one message per distinct set of kinds. Kinds: `held_run`,
//!   `failed_run`, `action_failure` and the finding kinds listed in
//!   [`digest`] (`unmatched_podfactory_user`, `orphaned`, …).
//! - **No secrets out.** The SMTP password is only handed to lettre; webhook
//!   URLs (which often hold tokens) are logged as scheme and host only.
//!
//! Metrics: `rosterd_notifications_total{channel="email|webhook"}` counts
//! messages and posts `sent` or `failed`, and items `suppressed` by the
//! cool-down (per enabled channel).

pub mod dedup;
pub mod digest;
mod smtp;
mod webhook;

use crate::config::{NotifySettings, ServeSettings};
use crate::metrics::Metrics;
use crate::store::Store;
use anyhow::{bail, Context as _};
use chrono::{DateTime, TimeDelta, Utc};
use digest::{Decided, Digest, Topic};
use lettre::message::Mailbox;
use smtp::{Mailer, SendError};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument as _;
use webhook::{Shape, Webhook};

rosterd_core::vocabulary! {
    /// The `channel` label of `rosterd_notifications_total`.
    enum Channel("notification channel") {
        Email => "email",
        Webhook => "webhook",
    }
}

rosterd_core::vocabulary! {
    /// The `outcome` label of `rosterd_notifications_total`.
    enum Delivery("notification outcome") {
        Sent => "sent",
        Failed => "failed",
        /// Left out: sent within the cool-down.
        Suppressed => "suppressed",
    }
}

/// Sends digests after runs. Cheap to clone (one shared inside), so the
/// daemon can hand a clone to each spawned `after_run`.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    metrics: Arc<Metrics>,
    cooldown_hours: u64,
    /// The console's base URL (`serve.public_url`), for links.
    console: Option<String>,
    mailer: Option<Mailer>,
    audiences: Vec<Audience>,
    webhooks: Vec<Webhook>,
    http: reqwest::Client,
    attempts: u32,
    /// One digest at a time: two runs finishing close together must not
    /// both see the same finding as new.
    serial: tokio::sync::Mutex<()>,
}

/// Addresses that get the same message.
struct Audience {
    to: Vec<Mailbox>,
    /// `None`: every section (`notify.to`).
    kinds: Option<BTreeSet<String>>,
}

impl Notifier {
    /// The notifier for a run context's settings, store and metrics.
    pub fn for_context(ctx: &crate::run::Context) -> anyhow::Result<Option<Notifier>> {
        Notifier::new(
            &ctx.settings.notify,
            &ctx.settings.serve,
            ctx.store.clone(),
            ctx.metrics.clone(),
        )
    }

    /// `None` when neither email nor a webhook is configured. `serve` says
    /// where the console is (`public_url`), for links.
    pub fn new(
        settings: &NotifySettings,
        serve: &ServeSettings,
        store: Store,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Option<Notifier>> {
        let s = settings;
        let webhooks: Vec<Webhook> = [
            Webhook::parse(&s.webhook_url, "webhook_url", Shape::Generic)?,
            Webhook::parse(&s.slack_webhook_url, "slack_webhook_url", Shape::Slack)?,
        ]
        .into_iter()
        .flatten()
        .collect();
        if !s.email && webhooks.is_empty() {
            return Ok(None);
        }
        let (mailer, audiences) = if s.email {
            (Some(Mailer::new(s)?), audiences(s)?)
        } else {
            (None, Vec::new())
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(s.smtp_timeout_secs.max(1)))
            .build()
            .context("webhook HTTP client")?;
        Ok(Some(Notifier {
            inner: Arc::new(Inner {
                store,
                metrics,
                cooldown_hours: s.cooldown_hours,
                console: serve.console_link(""),
                mailer,
                audiences,
                webhooks,
                http,
                attempts: s.smtp_attempts.max(1),
                serial: tokio::sync::Mutex::new(()),
            }),
        }))
    }

    /// After a run: send one digest of what is new in it (if anything), then
    /// remember what was delivered. Never fails the run: problems are logged
    /// and counted. Bounded in time (see the module doc).
    pub async fn after_run(&self, run_id: i64) {
        let inner = &self.inner;
        let _one_at_a_time = inner.serial.lock().await;
        let span = tracing::info_span!("notify", run_id);
        if let Err(e) = inner.notify(run_id).instrument(span).await {
            tracing::error!(run_id, error = %crate::telemetry::error_chain(e.as_ref()), "notification failed; the run is not affected");
        }
    }
}

impl Inner {
    async fn notify(&self, run_id: i64) -> anyhow::Result<()> {
        let run = self
            .store
            .get_run(run_id)
            .await?
            .with_context(|| format!("run {run_id} not found"))?;
        let actions = self.store.run_actions(run_id).await?;
        let plan = self
            .store
            .stored_plan(&run)
            .await?
            .context("read the run's plan")?;
        let mut all = digest::items(&run, plan, &actions).context("read the run's summary")?;
        if all.is_empty() {
            return Ok(());
        }
        let decided = self.decided().await?;
        let before = all.len();
        all.retain(|i| !decided.covers(i));
        if all.len() < before {
            tracing::debug!(
                left_out = before - all.len(),
                "findings people decided are not sent"
            );
        }
        if all.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let since = i64::try_from(self.cooldown_hours)
            .ok()
            .and_then(TimeDelta::try_hours)
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let keys: Vec<String> = all.iter().map(|i| i.key.clone()).collect();
        let recent = dedup::recently_sent(&self.store, &keys, since).await?;
        let (new, old): (Vec<_>, Vec<_>) = all.into_iter().partition(|i| !recent.contains(&i.key));
        self.count_suppressed(old.len() as u64);
        if new.is_empty() {
            tracing::debug!(
                suppressed = old.len(),
                "nothing new to notify (all within the cool-down)"
            );
            return Ok(());
        }

        let digest = Digest::new(&run, self.cooldown_hours, new).with_console(self.console.clone());
        let ((emailed, not_emailed), hooks_ok) =
            tokio::join!(self.email(&digest), self.post(&digest));
        // Delivered: some channel carried it and none that should have failed.
        let posted = hooks_ok && !self.webhooks.is_empty();
        let delivered: Vec<(String, &str)> = digest
            .items
            .iter()
            .filter(|i| hooks_ok && !not_emailed.contains(&i.kind))
            .filter(|i| posted || emailed.contains(&i.kind))
            .map(|i| (i.key.clone(), i.kind.as_str()))
            .collect();
        if !delivered.is_empty() {
            dedup::record_sent(&self.store, &delivered, Utc::now()).await?;
        }
        tracing::info!(
            new = digest.items.len(),
            delivered = delivered.len(),
            suppressed = old.len(),
            "run digest notified"
        );
        Ok(())
    }

    /// The findings people decided (acknowledged, or about a PodFactory
    /// user marked not an employee).
    async fn decided(&self) -> anyhow::Result<Decided> {
        Ok(Decided {
            acknowledged: self
                .store
                .finding_acks()
                .await?
                .into_iter()
                .map(|a| a.finding_key)
                .collect(),
            not_employees: self
                .store
                .non_employees()
                .await?
                .into_iter()
                .map(|n| n.podfactory_user_id)
                .collect(),
        })
    }

    /// Email every audience its part; returns the kinds some message
    /// delivered, and those some message failed to deliver.
    async fn email(&self, digest: &Digest) -> (HashSet<Topic>, HashSet<Topic>) {
        let (mut delivered, mut undelivered) = (HashSet::new(), HashSet::new());
        let Some(mailer) = &self.mailer else {
            return (delivered, undelivered);
        };
        let mut server_down = false;
        for audience in &self.audiences {
            let filtered;
            let part = match &audience.kinds {
                None => digest,
                Some(kinds) => match digest.only(kinds) {
                    Some(d) => {
                        filtered = d;
                        &filtered
                    }
                    None => continue,
                },
            };
            let result = if server_down {
                Err("not tried: the SMTP server gave up on an earlier message".to_string())
            } else {
                match mailer.message(&audience.to, part) {
                    Ok(message) => mailer.send(&message).await.map_err(|e| {
                        server_down = matches!(e, SendError::GaveUp(_));
                        e.to_string()
                    }),
                    Err(e) => Err(crate::telemetry::error_chain(e.as_ref())),
                }
            };
            let outcome = match result {
                Ok(()) => {
                    delivered.extend(part.items.iter().map(|i| i.kind));
                    tracing::info!(
                        recipients = audience.to.len(),
                        items = part.items.len(),
                        "digest emailed"
                    );
                    Delivery::Sent
                }
                Err(e) => {
                    undelivered.extend(part.items.iter().map(|i| i.kind));
                    tracing::error!(recipients = audience.to.len(), error = %e, "digest email not sent; its items stay new");
                    Delivery::Failed
                }
            };
            self.metrics
                .notifications
                .with_label_values(&[Channel::Email.as_str(), outcome.as_str()])
                .inc();
        }
        (delivered, undelivered)
    }

    /// Post to every webhook at once; true if all accepted.
    async fn post(&self, digest: &Digest) -> bool {
        let posts = self.webhooks.iter().map(|hook| async move {
            let body = match hook.shape {
                Shape::Generic => digest.webhook_json(),
                Shape::Slack => digest.slack_json(),
            };
            let result = hook.post(&self.http, &body, self.attempts).await;
            let outcome = match &result {
                Ok(()) => {
                    tracing::info!(webhook = %hook.shown, items = digest.items.len(), "digest posted");
                    Delivery::Sent
                }
                Err(e) => {
                    tracing::error!(webhook = %hook.shown, error = %e, "digest webhook failed; its items stay new");
                    Delivery::Failed
                }
            };
            self.metrics
                .notifications
                .with_label_values(&[Channel::Webhook.as_str(), outcome.as_str()])
                .inc();
            result.is_ok()
        });
        futures::future::join_all(posts)
            .await
            .into_iter()
            .all(|ok| ok)
    }

    fn count_suppressed(&self, n: u64) {
        if n == 0 {
            return;
        }
        let channels = [
            (Channel::Email, self.mailer.is_some()),
            (Channel::Webhook, !self.webhooks.is_empty()),
        ];
        for (channel, on) in channels {
            if on {
                self.metrics
                    .notifications
                    .with_label_values(&[channel.as_str(), Delivery::Suppressed.as_str()])
                    .inc_by(n);
            }
        }
    }
}

/// Group recipients: `to` gets everything; every other address gets the
/// kinds it is listed under, one message per distinct set of kinds.
fn audiences(s: &NotifySettings) -> anyhow::Result<Vec<Audience>> {
    let parse = |key: &str, addr: &str| -> anyhow::Result<Mailbox> {
        addr.parse()
            .with_context(|| format!("notify.{key}: {addr:?} is not an address"))
    };
    let to =
        s.to.iter()
            .map(|a| parse("to", a))
            .collect::<anyhow::Result<Vec<_>>>()?;
    let everything: HashSet<String> = to
        .iter()
        .map(|m| m.email.to_string().to_lowercase())
        .collect();
    let mut per_address: BTreeMap<String, (Mailbox, BTreeSet<String>)> = BTreeMap::new();
    for (kind, addrs) in &s.recipients {
        if !digest::kinds().any(|k| k == kind) {
            bail!(
                "notify.recipients: unknown kind {kind:?} (known: {})",
                digest::kinds().collect::<Vec<_>>().join(", ")
            );
        }
        for addr in addrs {
            let mailbox = parse(&format!("recipients.{kind}"), addr)?;
            let id = mailbox.email.to_string().to_lowercase();
            if !everything.contains(&id) {
                per_address
                    .entry(id)
                    .or_insert_with(|| (mailbox, BTreeSet::new()))
                    .1
                    .insert(kind.clone());
            }
        }
    }
    let mut groups: BTreeMap<BTreeSet<String>, Vec<Mailbox>> = BTreeMap::new();
    for (mailbox, kinds) in per_address.into_values() {
        groups.entry(kinds).or_default().push(mailbox);
    }
    let mut out = Vec::new();
    if !to.is_empty() {
        out.push(Audience { to, kinds: None });
    }
    out.extend(groups.into_iter().map(|(kinds, to)| Audience {
        to,
        kinds: Some(kinds),
    }));
    if out.is_empty() {
        bail!("notify.to: email is on but nobody would receive it");
    }
    Ok(out)
}

/// The pause before delivery attempt `attempt` (2, 3, …): 1 s, 2 s, 4 s …
/// capped at 30 s, for SMTP and webhooks alike.
pub(crate) fn backoff(attempt: u32) -> std::time::Duration {
    std::time::Duration::from_secs(1 << attempt.saturating_sub(2).min(5))
        .min(std::time::Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_grouped_by_their_kinds_and_to_gets_everything() {
        let s = NotifySettings {
            email: true,
            to: vec!["oncall@example.com".into()],
            recipients: BTreeMap::from([
                (
                    "unmatched_podfactory_user".to_string(),
                    vec![
                        "pf@example.com".to_string(),
                        "Oncall@example.com".to_string(),
                    ],
                ),
                (
                    "ambiguous_podfactory_user".to_string(),
                    vec!["pf@example.com".to_string()],
                ),
                ("held_run".to_string(), vec!["boss@example.com".to_string()]),
            ]),
            ..NotifySettings::default()
        };
        let a = audiences(&s).unwrap();
        let shape: Vec<(usize, Option<Vec<&str>>)> = a
            .iter()
            .map(|a| {
                (
                    a.to.len(),
                    a.kinds
                        .as_ref()
                        .map(|k| k.iter().map(String::as_str).collect()),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (1, None),
                (
                    1,
                    Some(vec![
                        "ambiguous_podfactory_user",
                        "unmatched_podfactory_user"
                    ])
                ),
                (1, Some(vec!["held_run"])),
            ]
        );

        let bad = NotifySettings {
            recipients: BTreeMap::from([("unmatched".to_string(), vec!["a@b.c".to_string()])]),
            ..s
        };
        assert!(audiences(&bad).is_err());
    }
}
