//! Finding the tools (Node.js, Chromium, the npm packages). Missing ones fail the
//! test, loudly, with the fix.

use super::*;

pub(crate) const INSTALL_HINT: &str =
    "the end-to-end tests need Node.js >= 20 (`node` on the PATH), \
     Debian's Chromium and the npm packages pinned in tests/e2e:\n    \
     apt-get install -y chromium chromium-driver\n    npm ci --prefix tests/e2e\n\
     (SSEWIRE_NODE and SSEWIRE_CHROMIUM point the tests at other binaries)";

/// The `node` binary (`SSEWIRE_NODE`, else `node` on the `PATH`), checked to run and
/// to be version 20 or newer.
pub fn node() -> String {
    let node = std::env::var("SSEWIRE_NODE").unwrap_or_else(|_| "node".to_owned());
    let out = Command::new(&node)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{node} --version`: {e}\n{INSTALL_HINT}"));
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        out.status.success() && major >= 20,
        "`{node} --version` printed {version:?}: Node.js >= 20 is needed\n{INSTALL_HINT}"
    );
    node
}

/// Checks that `npm ci --prefix tests/e2e` has installed `packages`.
pub fn require_node_modules(packages: &[&str]) {
    for package in packages {
        let manifest = Path::new(E2E_DIR)
            .join("node_modules")
            .join(package)
            .join("package.json");
        assert!(
            manifest.is_file(),
            "{} is missing: run `npm ci --prefix tests/e2e`\n{INSTALL_HINT}",
            manifest.display()
        );
    }
}

/// The Chromium binary (`SSEWIRE_CHROMIUM`, else `/usr/bin/chromium`), checked to
/// exist.
pub fn chromium() -> String {
    let path = std::env::var("SSEWIRE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&path).is_file(),
        "Chromium not found at {path}\n{INSTALL_HINT}"
    );
    path
}
