use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

fn main() {
    // The migrations are embedded at compile time (sqlx::migrate!): a new or
    // edited file under migrations/ must rebuild the crate, or a binary would
    // ship without it.
    println!("cargo:rerun-if-changed=../../migrations");
    // What the matcher is: its code (rosterd-core) and the crates, compiler
    // and target it was built with. A stored match is reused only by the
    // matcher that made it (`match_memo`, which is part of it: it says what
    // of a match is kept), so a build with another matcher matches again.
    const CORE: &str = "../rosterd-core/src";
    const ALSO: [&str; 4] = [
        "../../Cargo.lock",
        "src/match_memo.rs",
        "../rosterd-core/Cargo.toml",
        "../../Cargo.toml",
    ];
    for input in std::iter::once(CORE).chain(ALSO) {
        println!("cargo:rerun-if-changed={input}");
    }
    println!("cargo:rerun-if-env-changed=RUSTC");
    let mut files = Vec::new();
    walk(Path::new(CORE), &mut files);
    files.sort();
    files.extend(ALSO.map(PathBuf::from));
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in &files {
        f.hash(&mut h);
        std::fs::read(f)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
            .hash(&mut h);
    }
    // The compiler and the target too: another build of the same code.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    version.hash(&mut h);
    std::env::var("TARGET").unwrap_or_default().hash(&mut h);
    println!("cargo:rustc-env=ROSTERD_MATCHER_DIGEST={:016x}", h.finish());
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}
