//! Embeds `migrations/*.sql` in order, so the binary carries its schema and adding a migration
//! is only adding a file; and packs the binary's relocations (below).

use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let mut files: Vec<_> = std::fs::read_dir("migrations")
        .expect("migrations/ directory")
        .map(|e| e.expect("readable migrations/").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut code = String::from("pub const MIGRATIONS: &[(&str, &str)] = &[\n");
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        let abs = std::fs::canonicalize(f).unwrap();
        writeln!(code, "    ({name:?}, include_str!({:?})),", abs.display().to_string()).unwrap();
    }
    code.push_str("];\n");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("migrations.rs");
    std::fs::write(out, code).unwrap();

    // The bot is position-independent, and its ~1 MB table of relative relocations (mostly
    // pointers in vtables and static string tables) was read in full at every start, a tenth of
    // the idle RSS. Packed (RELR, glibc >= 2.36, binutils >= 2.38) the same table takes a few KB.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
