//! The synthetic workforce (`corpus::generate`) as the systems hold it: the
//! Productivity System's employee rows (with a workspace, TX or MS, drawn
//! 60/40) and PodFactory's export of its users, noise and all. The demo, the
//! daemon's tests and `rosterd bench` use it, so they exercise the same
//! names, namesakes and messy logins the matcher is measured on.

use crate::corpus::{self, Rng, DEPARTMENTS};
use rosterd_core::matching::PodFactoryUser;
use rosterd_core::model::RawEmployee;

pub use crate::corpus::COMPANY as EMAIL_DOMAIN;

/// Employees and the PodFactory users that go with them.
pub struct Sample {
    pub employees: Vec<RawEmployee>,
    pub podfactory: Vec<PodFactoryUser>,
}

/// A deterministic workforce of `n` employees with ids from 1000, about 8%
/// inactive, and PodFactory's users for it (most employees, some leavers,
/// temps and station logins).
pub fn sample(n: usize, seed: u64) -> Sample {
    let c = corpus::generate(n, seed, true);
    // Its own stream, so workspaces do not perturb the corpus's draws.
    let mut rng = Rng::new(seed ^ 0x7773);
    let employees = c
        .employees
        .into_iter()
        .map(|e| RawEmployee {
            id: e.id.0,
            full_name: Some(e.full_name),
            email: Some(e.email.to_string()),
            department: Some(e.department),
            workspace: Some(if rng.chance(0.6) { "TX" } else { "MS" }.to_string()),
            role_code: Some(e.role_code),
            is_active: e.is_active,
            auth0_user_id: None,
        })
        .collect();
    Sample {
        employees,
        podfactory: c.users,
    }
}

/// The employee rows of [`sample`].
pub fn sample_workforce(n: usize, seed: u64) -> Vec<RawEmployee> {
    sample(n, seed).employees
}

/// PodFactory users as the CSV export `podfactory.source = "csv"` reads.
pub fn podfactory_csv(users: &[PodFactoryUser]) -> String {
    let quote = |s: &Option<String>| {
        let s = s.as_deref().unwrap_or("");
        format!("\"{}\"", s.replace('"', "\"\""))
    };
    let mut out = String::from("id,name,email,user_role\n");
    for u in users {
        out.push_str(&format!(
            "{},{},{},{}\n",
            u.id,
            quote(&u.name),
            quote(&u.email),
            quote(&u.user_role)
        ));
    }
    out
}

/// The tenant's roles for the workforce's role codes (the demo's and the
/// tests' `auth0.roles`).
pub fn role_map() -> std::collections::BTreeMap<String, String> {
    DEPARTMENTS
        .iter()
        .map(|d| (d.1.to_string(), d.4.to_string()))
        .collect()
}
