//! Configuration as container platforms give it: every flag of `serve` (and
//! every global one) has a `KMC_*` variable, `--help` names it beside the
//! flag and never prints a secret's value, and a server configured through
//! the environment alone behaves as the flags say.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{PASSWORD, http, process_database_url};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_kmc-server");

/// The option blocks of a `--help` text: each starts at a line whose first
/// word is a flag and runs to the next.
fn option_blocks(help: &str) -> Vec<(String, String)> {
    let mut blocks: Vec<(String, String)> = Vec::new();
    for line in help.lines() {
        let t = line.trim_start();
        let flag = t
            .strip_prefix("-h, ")
            .or_else(|| t.strip_prefix("-V, "))
            .unwrap_or(t);
        if flag.starts_with("--") && line.starts_with("  ") {
            let name = flag.split([' ', '=', '<']).next().unwrap().to_owned();
            blocks.push((name, String::new()));
        }
        if let Some((_, text)) = blocks.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    blocks
}

#[test]
fn serve_help_names_the_variable_of_every_flag_and_never_a_secret_value() {
    let db_password = "pg-password-in-the-environment";
    let smtp_password = "smtp-password-in-the-environment";
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .env(
            "KMC_DATABASE_URL",
            format!("postgres://kmc:{db_password}@db.internal/kmc"),
        )
        .env("KMC_SMTP_PASSWORD", smtp_password)
        .env("KMC_ISSUER", "Shown Issuer")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let blocks = option_blocks(&help);
    assert!(blocks.len() > 20, "{help}");
    for (flag, text) in &blocks {
        if flag == "--help" || flag == "--version" {
            continue;
        }
        let var = format!("KMC_{}", flag[2..].replace('-', "_").to_uppercase());
        assert!(
            text.contains(&format!("[env: {var}")),
            "{flag} does not name {var}:\n{text}"
        );
    }
    for global in ["--data-dir", "--log-format", "--smtp-password-file"] {
        assert!(blocks.iter().any(|(f, _)| f == global), "{global}");
    }
    assert!(blocks.iter().any(|(f, _)| f == "--metrics-listen"));
    // A plain setting shows its value; a secret's never appears.
    assert!(help.contains("KMC_ISSUER=Shown Issuer"), "{help}");
    assert!(!help.contains(db_password), "{help}");
    assert!(!help.contains(smtp_password), "{help}");
    assert!(help.contains("KMC_SMTP_PASSWORD"), "{help}");
}

#[test]
fn a_server_configured_only_through_the_environment_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("elsewhere.key");
    let mut env = vec![
        ("KMC_DATA_DIR", dir.path().to_str().unwrap().to_owned()),
        ("KMC_SECRET_KEY_FILE", key.to_str().unwrap().to_owned()),
        ("KMC_LISTEN", "127.0.0.1:0".into()),
        ("KMC_DIST", "/nonexistent".into()),
        ("KMC_METRICS_LISTEN", "127.0.0.1:0".into()),
        ("KMC_LOG_FORMAT", "json".into()),
        ("KMC_REVEAL_LOGIN_ERRORS", "true".into()),
        ("KMC_MAX_LOGIN_ATTEMPTS", "2".into()),
    ];
    if let Some(url) = process_database_url() {
        env.push(("KMC_DATABASE_URL", url));
    }
    let command = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(args).envs(env.iter().map(|(k, v)| (k, v)));
        cmd
    };
    let out = command(&["partner", "add", "--name", "Media"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "100\n");
    let mut add = command(&[
        "user",
        "add",
        "--partner",
        "100",
        "--email",
        "ada@example.com",
        "--password-stdin",
    ]);
    let mut child = add.stdin(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), PASSWORD.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(key.is_file(), "the key file named by KMC_SECRET_KEY_FILE");

    let log = dir.path().join("serve.log");
    let mut serve = command(&["serve"]);
    serve.stderr(std::fs::File::create(&log).unwrap());
    let server = harness::start(serve, None, Duration::from_secs(30)).unwrap();
    assert!(server.metrics_addr().is_some(), "KMC_METRICS_LISTEN");
    let login = |password: &str| {
        let body = json!({"loginId": "ada@example.com", "password": password});
        let path = "/api_v3/service/user/action/loginByLoginId?format=1";
        http(server.addr, "POST", path, Some(&body)).1
    };
    assert!(login("wrong guess number 1").contains("USER_WRONG_PASSWORD"));
    // The second failure spends a budget of 2, and the code is not masked.
    assert!(login("wrong guess number 2").contains("LOGIN_RETRIES_EXCEEDED"));
    assert!(login(PASSWORD).contains("LOGIN_BLOCKED"));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(r#""event":"login.blocked""#), "{text}");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("KMC_LOG_FORMAT=json, yet ({e}): {line}"));
    }
}
