//! Fidelity: the official `auth0-python` SDK drives the simulator
//! (`tests/sdk/auth0_python_fidelity.py`). Needs `pip install -r
//! tests/sdk/requirements.txt`; without it the test is skipped locally and
//! fails in CI (`CI` set), where the SDK is installed.

use std::process::Command;

fn sdk_available() -> bool {
    Command::new("python3")
        .args(["-c", "import auth0.authentication, auth0.management.client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_runs_rosterds_operations_against_the_simulator() {
    if !sdk_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install the SDK: pip install -r tests/sdk/requirements.txt"
        );
        eprintln!(
            "skipped: auth0-python not installed (pip install -r tests/sdk/requirements.txt)"
        );
        return;
    }
    // Production-like limits: the SDK must get through without tripping them.
    // Imports stay pending long enough for two to be active at once.
    let cfg = auth0_sim::SimConfig {
        export_delay_ms: 100,
        import_delay_ms: 500,
        ..auth0_sim::SimConfig::default()
    };
    let (id, secret) = (cfg.client_id.clone(), cfg.client_secret.clone());
    let sim = auth0_sim::spawn(cfg, "127.0.0.1:0")
        .await
        .expect("simulator starts");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/sdk/auth0_python_fidelity.py"
    );
    let base = sim.base_url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([&base, &id, &secret])
            .output()
    })
    .await
    .expect("join")
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "SDK fidelity failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"));
    sim.shutdown().await;
}
