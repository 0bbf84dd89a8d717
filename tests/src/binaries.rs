//! The function and devstack binaries the end-to-end tests run, always the ones built
//! from this checkout's current sources: a targeted `cargo test -p e2e --test x` after
//! an edit (or after another clone shared `CARGO_TARGET_DIR`) would otherwise run a
//! stale binary and test old code.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `target/debug/<name>` (or under `CARGO_TARGET_DIR`), built first when it is missing
/// or stale: built from another checkout, or older than a source file cargo's dep-info
/// (`<name>.d`) lists for it. It is built as `make test` builds it (`cargo build
/// --workspace --bins`: the same features, so the same binary and no second copy of
/// the dependencies); there, it is never stale.
pub fn binary(package: &str, name: &str) -> PathBuf {
    let workspace = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let path = target.join("debug").join(name);
    if let Some(reason) = staleness(&path, &workspace) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--workspace", "--bins"])
            .current_dir(&workspace)
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "{} ({package}) is {reason}, and cargo build --workspace --bins failed: {status:?}",
            path.display()
        );
        if let Some(still) = staleness(&path, &workspace) {
            panic!("{} is still {still} after cargo build", path.display());
        }
    }
    path
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// Why `binary` cannot be trusted to hold this checkout's code, or `None`.
pub fn staleness(binary: &Path, workspace: &Path) -> Option<String> {
    let built = match std::fs::metadata(binary).and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(_) => return Some("missing".into()),
    };
    let Ok(dep_info) = std::fs::read_to_string(binary.with_extension("d")) else {
        return Some("without cargo's dep-info".into());
    };
    let sources = dep_info_sources(&dep_info);
    let workspace = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf());
    let ours = |p: &Path| p.starts_with(&workspace);
    if !sources.iter().any(|p| ours(p)) {
        return Some("built from another checkout".into());
    }
    sources
        .iter()
        .filter(|p| ours(p))
        .find(|p| modified(p).is_none_or(|t| t > built))
        .map(|p| format!("older than {}", p.display()))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The dependencies of a Makefile-style dep-info file (`out: dep dep…`, spaces in
/// paths escaped as `\ `), first rule only.
fn dep_info_sources(dep_info: &str) -> Vec<PathBuf> {
    let Some((_, deps)) = dep_info.lines().next().and_then(|l| l.split_once(": ")) else {
        return Vec::new();
    };
    let mut sources = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    sources.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        sources.push(PathBuf::from(current));
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_paths_keep_their_escaped_spaces() {
        let d = "/t/debug/x: /w/a.rs /w/my\\ dir/b.rs\n\n/w/a.rs:\n";
        assert_eq!(
            dep_info_sources(d),
            vec![PathBuf::from("/w/a.rs"), PathBuf::from("/w/my dir/b.rs")]
        );
    }

    #[test]
    fn a_binary_older_than_a_source_or_from_elsewhere_is_stale() -> std::io::Result<()> {
        let dir = std::env::temp_dir().join(format!("e2e-binaries-{}", std::process::id()));
        let workspace = dir.join("ws");
        std::fs::create_dir_all(workspace.join("src"))?;
        let source = workspace.join("src/main.rs");
        std::fs::write(&source, "fn main() {}")?;
        let bin = dir.join("x");
        assert_eq!(staleness(&bin, &workspace).as_deref(), Some("missing"));
        std::fs::write(&bin, "")?;
        let canonical = workspace.canonicalize()?;
        std::fs::write(
            bin.with_extension("d"),
            format!("{}: {}\n", bin.display(), canonical.join("src/main.rs").display()),
        )?;
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&source)?
            .set_modified(old)?;
        assert_eq!(staleness(&bin, &workspace), None, "built after its source");
        std::fs::File::options()
            .write(true)
            .open(&source)?
            .set_modified(SystemTime::now() + std::time::Duration::from_secs(60))?;
        assert!(staleness(&bin, &workspace).is_some_and(|r| r.starts_with("older than")));
        std::fs::write(
            bin.with_extension("d"),
            format!("{}: /elsewhere/src/main.rs\n", bin.display()),
        )?;
        assert_eq!(
            staleness(&bin, &workspace).as_deref(),
            Some("built from another checkout")
        );
        std::fs::remove_dir_all(&dir)
    }
}
