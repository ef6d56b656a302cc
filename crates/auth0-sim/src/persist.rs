//! `--state FILE`: the tenant as JSON, written atomically (temp file +
//! rename) shortly after each change and once more on shutdown.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use super::server::Sim;
use super::state::Snapshot;

/// Changes arriving within this window are written together.
const DEBOUNCE: Duration = Duration::from_millis(200);

pub(crate) fn load(path: &Path) -> anyhow::Result<Option<Snapshot>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading state file {}", path.display())),
    };
    let snapshot = serde_json::from_slice(&bytes)
        .with_context(|| format!("state file {} is not a simulator state", path.display()))?;
    Ok(Some(snapshot))
}

fn write_atomically(path: &Path, snapshot: &Snapshot) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let bytes = serde_json::to_vec(snapshot)?;
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Snapshots under the lock, writes outside it.
pub(crate) async fn save(sim: &Sim, path: &Path) {
    let snapshot = sim.tenant().snapshot();
    let path = path.to_path_buf();
    let result = tokio::task::spawn_blocking(move || write_atomically(&path, &snapshot)).await;
    match result {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "auth0-sim: could not write the state file"),
        Err(e) => tracing::error!(error = %e, "auth0-sim: state writer failed"),
    }
}

/// Writes the state after changes until `stop` flips; the final write is
/// the caller's, after this has returned, so two writes never race.
pub(crate) async fn saver(sim: Arc<Sim>, path: PathBuf, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = sim.save_requested() => {
                tokio::time::sleep(DEBOUNCE).await;
                if sim.take_dirty() {
                    save(&sim, &path).await;
                }
            }
            _ = stop.changed() => return,
        }
    }
}
