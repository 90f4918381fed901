//! `./scripts/package` builds a Debian package that holds what a host needs: unpacked into a
//! scratch root (`dpkg -x`), its binary runs and checks the example config it ships. The test
//! packages the debug build `cargo test` already made (`--profile dev`), so CI does not wait for
//! a release build; `scripts/package` without arguments packages the release build.

use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn the_package_holds_the_binary_the_unit_with_reload_the_example_config_and_makes_a_user() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/package");
    let (ok, log) = run(Command::new(&script).args(["--profile", "dev", "--fast", "--output"]).arg(&out));
    assert!(ok, "scripts/package failed:\n{log}");
    let deb = out.join(format!("srebot_{}-1_amd64.deb", env!("CARGO_PKG_VERSION")));
    assert!(deb.is_file(), "no {}:\n{log}", deb.display());

    let root = dir.path().join("root");
    let (ok, log) = run(Command::new("dpkg").arg("-x").arg(&deb).arg(&root));
    assert!(ok, "dpkg -x: {log}");
    let unit = std::fs::read_to_string(root.join("usr/lib/systemd/system/srebot.service")).unwrap();
    for line in [
        "ExecStart=/usr/bin/srebot --config /etc/srebot/config.toml",
        "ExecReload=/usr/bin/srebot check-config /etc/srebot/config.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line:?}:\n{unit}");
    }
    let example = std::fs::read_to_string(root.join("usr/share/doc/srebot/config.example.toml")).unwrap();
    assert!(example.lines().filter(|l| l.trim_start().starts_with('#')).count() > 20, "the example is commented");
    let control = dir.path().join("control");
    let (ok, log) = run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    assert!(ok, "dpkg-deb -e: {log}");
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("useradd --system") && postinst.contains(" srebot"), "{postinst}");

    let srebot = root.join("usr/bin/srebot");
    let (ok, version) = run(Command::new(&srebot).arg("--version"));
    assert!(ok && version.trim() == format!("srebot {}", env!("CARGO_PKG_VERSION")), "{version}");
    // The example as an operator starts from: its secret file is where the install puts it.
    let password = dir.path().join("sasl-password");
    std::fs::write(&password, "example-password\n").unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, example.replace("/etc/srebot/sasl-password", &password.display().to_string())).unwrap();
    let (ok, checked) = run(Command::new(&srebot).arg("check-config").arg(&config));
    assert!(ok && checked.contains(": OK"), "check-config on the shipped example:\n{checked}");
}
