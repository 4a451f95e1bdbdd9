//! `cargo xtask setup`: installs each build tool only when it is missing or at the wrong
//! version, outside the repository, saying what it does and how long that usually takes.
//!
//! The versions and install commands are explained in `docs/toolchain.md`: trunk 0.22.1 needs
//! `--locked --ignore-rust-version`; wasm-bindgen-cli must equal Cargo.lock's `wasm-bindgen`
//! and must be installed *without* `--locked`; wasm-opt comes from npm `binaryen@132.0.0`
//! (Debian's wasm-opt 108 silently breaks the module).

use std::path::Path;
use std::time::Instant;

use crate::ctx::{self, Ctx};

/// The trunk release the project is built with.
pub const TRUNK_VERSION: &str = "0.22.1";
/// The npm binaryen release that provides wasm-opt (`Trunk.toml` pins `version_132`).
pub const BINARYEN_VERSION: &str = "132.0.0";
/// The npm Lighthouse release the bench runs (only `cargo xtask bench` installs it).
pub const LIGHTHOUSE_VERSION: &str = "12.2.3";
/// The npm axe-core release the accessibility gate injects into Chromium (`test` installs it).
pub const AXE_CORE_VERSION: &str = "4.14.1";
/// Debian's packages for the browser tests.
const APT_PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];

/// Whether setup must also provide Chromium and chromedriver.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    /// Only the build tools (`setup`, `build`, `serve`).
    NotNeeded,
    /// Build tools plus Chromium and chromedriver (`test`, `bench`).
    Needed,
}

/// What setup found or installed, for the later steps.
pub struct Tools {
    /// chromedriver's absolute path, when the browser was asked for.
    pub chromedriver: Option<String>,
    /// Chromium's absolute path, when the browser was asked for (the bench starts it itself).
    pub chromium: Option<String>,
    /// axe-core's `axe.min.js`, when the browser was asked for (the accessibility gate).
    pub axe: Option<std::path::PathBuf>,
}

impl Tools {
    /// Chromium and chromedriver where Debian puts them, without installing anything.
    pub fn find_browser() -> Self {
        let at = |p: &str| Path::new(p).exists().then(|| p.to_string());
        Self {
            chromedriver: at("/usr/bin/chromedriver"),
            chromium: at("/usr/bin/chromium"),
            axe: None,
        }
    }
}

/// Runs every check in order; returns an error naming what could not be installed.
pub fn setup(ctx: &Ctx, browser: Browser) -> Result<Tools, String> {
    let started = Instant::now();
    println!("== setup: checking tools (installs go to ~/.cargo/bin and ~/.local/share/kmc-tools)");
    wasm_target(ctx)?;
    trunk(ctx)?;
    wasm_bindgen(ctx)?;
    wasm_opt(ctx)?;
    let tools = if browser == Browser::Needed {
        Tools {
            axe: Some(axe_core(ctx)?),
            ..chromium(ctx)?
        }
    } else {
        Tools {
            chromedriver: None,
            chromium: None,
            axe: None,
        }
    };
    free_space(ctx);
    println!("== setup done in {}", ctx::fmt_duration(started.elapsed()));
    Ok(tools)
}

/// What a first `cargo xtask test` writes to target/ (debug, wasm and release builds).
const BUILD_GIB: u64 = 6;

/// Warns, before any build starts, when target/'s disk has less room than a first full build
/// takes: otherwise the run fails many minutes later with `No space left on device` in
/// whichever step happens to write last.
fn free_space(ctx: &Ctx) {
    let dir = ctx.target_dir();
    let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(dir);
    let df = ctx::capture(std::process::Command::new("df").arg("-Pk").arg(existing));
    match df.as_deref().and_then(available_kib) {
        Some(kib) if kib < BUILD_GIB << 20 => println!(
            "!!  only {:.1} GB free for {}: a first full build needs about {BUILD_GIB} GB \
             (free some, e.g. `cargo clean` in old checkouts)",
            kib as f64 / f64::from(1 << 20),
            dir.display()
        ),
        Some(_) => {}
        None => println!("..  could not read the free space for {}", dir.display()),
    }
}

/// The available KiB in `df -Pk` output (POSIX format: header, then one line per file system).
fn available_kib(df: &str) -> Option<u64> {
    df.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()
}

/// Waits while another process runs `cargo install <krate>` (say, a second terminal running
/// setup): a parallel install of the same crate would rebuild it from scratch for nothing.
/// Returns whether it waited, so the caller checks the version again.
fn wait_for_other_install(krate: &str) -> bool {
    let mut waited = false;
    loop {
        let Some(pid) = other_install(krate) else {
            return waited;
        };
        if !waited {
            println!(
                "..  another `cargo install {krate}` is running (pid {pid}); waiting for it to finish"
            );
        }
        waited = true;
        std::thread::sleep(std::time::Duration::from_secs(5));
    }
}

/// The pid of a running `cargo install … <krate> …`, found through `/proc` (std only).
fn other_install(krate: &str) -> Option<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_cargo = args.first()?.ends_with(b"cargo");
        let installs = args.contains(&b"install".as_slice()) && args.contains(&krate.as_bytes());
        (pid != me && is_cargo && installs).then_some(pid)
    })
}

/// Runs an install step, announcing it with its usual duration and reporting the real one.
fn install(what: &str, usually: &str, cmd: &mut std::process::Command) -> Result<(), String> {
    println!("-> installing {what} (usually takes {usually})");
    let t = Instant::now();
    ctx::run_status(cmd)?;
    println!("-> {what} installed in {}", ctx::fmt_duration(t.elapsed()));
    Ok(())
}

fn wasm_target(ctx: &Ctx) -> Result<(), String> {
    const TARGET: &str = "wasm32-unknown-unknown";
    // Run from the repository so rustup looks at the toolchain rust-toolchain.toml selects.
    let installed = ctx::capture(ctx.cmd("rustup").args(["target", "list", "--installed"]));
    match installed {
        Some(list) if list.lines().any(|l| l.trim() == TARGET) => {
            println!("ok  rust target {TARGET}");
            Ok(())
        }
        Some(_) => install(
            &format!("rust target {TARGET}"),
            "a few seconds",
            ctx.cmd("rustup").args(["target", "add", TARGET]),
        ),
        None => {
            // Without rustup the target can't be added; the build reports it if it is missing.
            println!("??  rustup not found: cannot check the {TARGET} target");
            Ok(())
        }
    }
}

fn trunk(ctx: &Ctx) -> Result<(), String> {
    wait_for_other_install("trunk");
    let have = ctx::capture(ctx.cmd("trunk").arg("--version"));
    if version_of(have.as_deref()) == Some(TRUNK_VERSION) {
        println!("ok  trunk {TRUNK_VERSION}");
        return Ok(());
    }
    println!(
        "..  trunk: have {}, want {TRUNK_VERSION}",
        have.as_deref().unwrap_or("none")
    );
    install(
        &format!("trunk {TRUNK_VERSION}"),
        "about 9 minutes on 2 cores",
        outside_repo(ctx, ctx.cargo()).args([
            "install",
            "trunk",
            "--version",
            TRUNK_VERSION,
            "--locked",
            "--ignore-rust-version",
            "--force",
        ]),
    )
}

fn wasm_bindgen(ctx: &Ctx) -> Result<(), String> {
    let lock = std::fs::read_to_string(ctx.root.join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let Some(want) = locked_version(&lock, "wasm-bindgen") else {
        println!("??  Cargo.lock has no wasm-bindgen yet: skipping wasm-bindgen-cli");
        return Ok(());
    };
    wait_for_other_install("wasm-bindgen-cli");
    let have = ctx::capture(ctx.cmd("wasm-bindgen").arg("--version"));
    let runner = ctx::capture(ctx.cmd("wasm-bindgen-test-runner").arg("--version"));
    if version_of(have.as_deref()) == Some(want.as_str())
        && version_of(runner.as_deref()) == Some(want.as_str())
    {
        println!("ok  wasm-bindgen-cli {want} (matches Cargo.lock)");
        return Ok(());
    }
    println!(
        "..  wasm-bindgen-cli: have {}, Cargo.lock wants {want}",
        have.as_deref().unwrap_or("none")
    );
    // No --locked: the CLI's own lockfile pins a crate the registry no longer serves.
    install(
        &format!("wasm-bindgen-cli {want}"),
        "about 2 minutes on 2 cores",
        outside_repo(ctx, ctx.cargo()).args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &want,
            "--force",
        ]),
    )
}

fn wasm_opt(ctx: &Ctx) -> Result<(), String> {
    let bin = ctx.binaryen_bin();
    let wasm_opt = bin.join("wasm-opt");
    let major = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    let have = ctx::capture(ctx.cmd(&wasm_opt).arg("--version"));
    if have
        .as_deref()
        .is_some_and(|v| v.contains(&format!("version {major}")))
    {
        println!("ok  wasm-opt {major} ({})", wasm_opt.display());
        return Ok(());
    }
    let prefix = bin
        .parent()
        .and_then(Path::parent)
        .ok_or("bad binaryen folder")?
        .to_path_buf();
    if ctx::capture(ctx.cmd("npm").arg("--version")).is_none() {
        return Err(
            "npm is missing: install Node.js and npm (apt-get install -y nodejs npm), then rerun"
                .into(),
        );
    }
    npm_install(
        ctx,
        ("wasm-opt", "binaryen", BINARYEN_VERSION),
        "about 20 seconds",
        &prefix,
        &wasm_opt,
    )
}

/// `npm install PACKAGE@VERSION` into `prefix` (created when missing), run outside the
/// repository; `bin` must exist afterwards. `tool` is (what it gives, package, version).
fn npm_install(
    ctx: &Ctx,
    (what, package, version): (&str, &str, &str),
    usually: &str,
    prefix: &Path,
    bin: &Path,
) -> Result<(), String> {
    std::fs::create_dir_all(prefix)
        .map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
    install(
        &format!("{what} (npm {package}@{version})"),
        usually,
        outside_repo(ctx, ctx.cmd("npm")).args([
            "install",
            "--prefix",
            &prefix.to_string_lossy(),
            "--no-audit",
            "--no-fund",
            "--no-save",
            &format!("{package}@{version}"),
        ]),
    )?;
    if bin.exists() {
        Ok(())
    } else {
        Err(format!("npm finished but {} is missing", bin.display()))
    }
}

/// axe-core (npm `axe-core@AXE_CORE_VERSION`) under `~/.local/share/kmc-tools/axe-core`,
/// installed when missing or at another version; returns its `axe.min.js`.
fn axe_core(ctx: &Ctx) -> Result<std::path::PathBuf, String> {
    let prefix = ctx.home.join(".local/share/kmc-tools/axe-core");
    let package = prefix.join("node_modules/axe-core");
    let script = package.join("axe.min.js");
    let have = std::fs::read_to_string(package.join("package.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|json| json["version"].as_str().map(str::to_owned));
    if have.as_deref() == Some(AXE_CORE_VERSION) && script.is_file() {
        println!("ok  axe-core {AXE_CORE_VERSION} ({})", script.display());
        return Ok(script);
    }
    npm_install(
        ctx,
        ("the accessibility checker", "axe-core", AXE_CORE_VERSION),
        "about 5 seconds",
        &prefix,
        &script,
    )?;
    Ok(script)
}

/// Lighthouse (npm `lighthouse@LIGHTHOUSE_VERSION`) under `~/.local/share/kmc-tools/lighthouse`,
/// installed when missing or at another version; returns its command. Only the bench needs it.
pub fn lighthouse(ctx: &Ctx) -> Result<std::path::PathBuf, String> {
    let prefix = ctx.home.join(".local/share/kmc-tools/lighthouse");
    let bin = prefix.join("node_modules/.bin/lighthouse");
    if ctx::capture(ctx.cmd(&bin).arg("--version")).is_some_and(|v| v.trim() == LIGHTHOUSE_VERSION)
    {
        println!("ok  lighthouse {LIGHTHOUSE_VERSION} ({})", bin.display());
        return Ok(bin);
    }
    npm_install(
        ctx,
        ("lighthouse", "lighthouse", LIGHTHOUSE_VERSION),
        "about 30 seconds",
        &prefix,
        &bin,
    )?;
    Ok(bin)
}

fn chromium(ctx: &Ctx) -> Result<Tools, String> {
    let find = |names: &[&str]| {
        names.iter().find_map(|n| {
            let p = Path::new("/usr/bin").join(n);
            if p.exists() {
                Some(p.to_string_lossy().into_owned())
            } else {
                ctx::capture(ctx.cmd("sh").args(["-c", &format!("command -v {n}")]))
                    .filter(|s| !s.is_empty())
            }
        })
    };
    let found = || {
        (
            find(&["chromium", "chromium-browser"]),
            find(&["chromedriver"]),
        )
    };
    if let (Some(chromium), Some(driver)) = found() {
        println!("ok  chromium ({chromium}) and chromedriver ({driver})");
        return Ok(Tools {
            chromedriver: Some(driver),
            chromium: Some(chromium),
            axe: None,
        });
    }
    let command = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        APT_PACKAGES.join(" ")
    );
    if !ctx::is_root() {
        return Err(format!(
            "Chromium and chromedriver are needed for the browser tests. Install them with:\n    sudo {command}\nthen rerun."
        ));
    }
    install(
        "apt package lists (apt-get update)",
        "about 20 seconds",
        ctx.cmd("apt-get").arg("update"),
    )?;
    install(
        "chromium and chromium-driver (Debian)",
        "about 30 seconds",
        ctx.cmd("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends"])
            .args(APT_PACKAGES),
    )?;
    match found() {
        (Some(chromium), Some(driver)) => Ok(Tools {
            chromedriver: Some(driver),
            chromium: Some(chromium),
            axe: None,
        }),
        _ => Err("apt-get finished but chromium or chromedriver is still missing".into()),
    }
}

/// Installs run from `$HOME` so the repository's `.cargo/config.toml` and toolchain file play no
/// part in them and nothing is written into the repository.
fn outside_repo(ctx: &Ctx, mut cmd: std::process::Command) -> std::process::Command {
    cmd.current_dir(&ctx.home);
    cmd
}

/// The version word of `tool 1.2.3` / `tool 1.2.3 (extra)`.
fn version_of(output: Option<&str>) -> Option<&str> {
    output?.lines().next()?.split_whitespace().nth(1)
}

/// The version Cargo.lock records for `package` (the first entry if there are several).
pub fn locked_version(lock: &str, package: &str) -> Option<String> {
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name_line {
            let version = lines.next()?.trim();
            return version
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_the_fourth_column_of_posix_df_output() {
        let df = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n\
                  /dev/vda         264091588 53010932 199585940      21% /\n";
        assert_eq!(available_kib(df), Some(199_585_940));
        assert_eq!(
            available_kib("Filesystem 1024-blocks Used Available\n"),
            None
        );
        assert_eq!(available_kib(""), None);
    }

    const LOCK: &str = r#"
[[package]]
name = "wasm-bindgen-futures"
version = "0.4.53"

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    #[test]
    fn lockfile_version_is_read_for_the_exact_package_name_only() {
        assert_eq!(
            locked_version(LOCK, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(
            locked_version(LOCK, "wasm-bindgen-futures").as_deref(),
            Some("0.4.53")
        );
        assert_eq!(locked_version(LOCK, "wasm-bindgen-macro"), None);
    }

    #[test]
    fn no_install_is_found_for_a_crate_nobody_installs() {
        assert_eq!(other_install("no-such-crate-xtask-test"), None);
    }

    #[test]
    fn tool_version_is_the_second_word_of_the_first_line() {
        assert_eq!(version_of(Some("trunk 0.22.1")), Some("0.22.1"));
        assert_eq!(version_of(Some("wasm-bindgen 0.2.130\n")), Some("0.2.130"));
        assert_eq!(version_of(Some("trunk")), None);
        assert_eq!(version_of(None), None);
    }
}
