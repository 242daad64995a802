//! Builds the C shim in `csrc/` (`harness.c`, `dsa.c`) against the system libotr.

use std::process::ExitCode;

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed=csrc/harness.c");
    println!("cargo:rerun-if-changed=csrc/dsa.c");
    println!("cargo:rerun-if-changed=build.rs");

    let otr = match pkg_config::Config::new()
        .atleast_version("4.1")
        .probe("libotr")
    {
        Ok(lib) => lib,
        Err(e) => {
            eprintln!(
                "libotr-harness: libotr (>= 4.1) not found via pkg-config: {e}\n\
                 run scripts/install-test-deps.sh (needs libotr5-dev and pkg-config)"
            );
            return ExitCode::FAILURE;
        }
    };
    // libotr's public headers include <gcrypt.h> and the shim calls
    // gcry_strerror directly, so link libgcrypt explicitly as well.
    // (Debian's libgcrypt ships a .pc file; fall back to plain -lgcrypt.)
    let gcrypt = pkg_config::probe_library("libgcrypt").ok();
    if gcrypt.is_none() {
        println!("cargo:rustc-link-lib=gcrypt");
    }

    let mut build = cc::Build::new();
    build
        .file("csrc/harness.c")
        .file("csrc/dsa.c")
        .warnings(true)
        .extra_warnings(true);
    for dir in otr
        .include_paths
        .iter()
        .chain(gcrypt.iter().flat_map(|g| g.include_paths.iter()))
    {
        build.include(dir);
    }
    build.compile("otrharness");
    ExitCode::SUCCESS
}
