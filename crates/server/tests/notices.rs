//! Security notices read from the outbox: a blocked login, an authenticator
//! set up, a password changed on the account page. Each says when and from
//! which address, points to the sign-in page for help, and holds no secret;
//! and guessing at someone's login, however many requests at once, sends its
//! owner at most one notice per block window without changing any answer.

mod common;

use std::net::IpAddr;
use std::sync::Arc;

use common::*;
use kaltura_api::codes;
use serde_json::{Value, json};

/// [`START`] as the notices write it.
const START_TEXT: &str = "When: Fri, 15 Jan 2027 08:00:10 GMT";
const BLOCKED: &str = "Subject: Your Kaltura sign-in was blocked after too many attempts";
const ATTACKER: &str = "203.0.113.7";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The notices in the outbox to [`EMAIL`] whose text contains `subject`.
fn notices(t: &TestApp, subject: &str) -> Vec<String> {
    t.outbox()
        .into_iter()
        .filter(|m| m.contains(&format!("To: {EMAIL}")) && m.contains(subject))
        .collect()
}

/// Asserts a notice holds none of `secrets` (nor any link token or otpauth
/// URI), and says where to get help.
#[track_caller]
fn assert_clean(notice: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!notice.contains(secret), "{secret:?} in {notice}");
    }
    assert!(!notice.contains("/actions/"), "{notice}");
    assert!(!notice.contains("otpauth"), "{notice}");
    assert!(notice.contains("\nhttp://kmc.test/login\r\n"), "{notice}");
    assert!(notice.contains("Forgot password?"), "{notice}");
}

fn wrong_guess(i: usize) -> Value {
    json!({"loginId": EMAIL, "password": format!("wrong guess {i}")})
}

#[tokio::test]
async fn a_blocked_login_mails_its_owner_once_saying_when_and_from_which_address() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    let mut replies = Vec::new();
    for i in 0..15 {
        let v = t
            .call_from(ip(ATTACKER), "user", "loginByLoginId", wrong_guess(i))
            .await;
        replies.push(v);
    }
    // The guesser learns nothing: the answer that blocked, and every one
    // after it, is the answer to any wrong password.
    for v in &replies {
        assert_eq!(v, &replies[0]);
    }
    assert_error(&replies[0], codes::USER_WRONG_PASSWORD);
    t.mail_sent().await;
    let sent = notices(&t, BLOCKED);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let notice = &sent[0];
    assert!(notice.contains(START_TEXT), "{notice}");
    assert!(
        notice.contains(&format!("From the address: {ATTACKER}")),
        "{notice}"
    );
    assert!(
        notice.contains("unblocks by itself after 15 minutes"),
        "{notice}"
    );
    assert!(notice.contains("reset your password"), "{notice}");
    assert_clean(notice, &["wrong guess", PASSWORD]);
}

/// `n` wrong passwords for [`EMAIL`] at once, each from an address of its
/// own (a spread-out guesser); the answers' codes.
async fn guesses_at_once(t: &Arc<TestApp>, round: usize, n: usize) -> Vec<String> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let t = t.clone();
            let from = ip(&format!("10.{round}.{}.{}", i / 250, i % 250 + 1));
            tokio::spawn(async move {
                let v = t
                    .call_from(from, "user", "loginByLoginId", wrong_guess(i))
                    .await;
                code_of(&v).unwrap_or("OK").to_owned()
            })
        })
        .collect();
    let mut codes = Vec::new();
    for task in tasks {
        codes.push(task.await.unwrap());
    }
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_parallel_wrong_passwords_send_at_most_one_notice_per_block_window() {
    let t = Arc::new(app_with(|o| o.max_hash_queue = 1000).await);
    t.login_in(&[("Sandbox", false)]).await;

    let answers = guesses_at_once(&t, 1, 300).await;
    assert!(
        answers.iter().all(|c| c == codes::USER_WRONG_PASSWORD),
        "{answers:?}"
    );
    // More while the block holds: still one notice.
    guesses_at_once(&t, 2, 300).await;
    t.mail_sent().await;
    assert_eq!(notices(&t, BLOCKED).len(), 1);

    // The next block window: one notice more.
    t.clock.advance(15 * 60);
    guesses_at_once(&t, 3, 300).await;
    t.mail_sent().await;
    assert_eq!(notices(&t, BLOCKED).len(), 2);
}

#[tokio::test]
async fn using_a_qr_link_mails_an_authenticator_notice_without_the_key_or_the_link() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    let link = t
        .link_tokens(EMAIL, "/actions/auth-info/")
        .pop()
        .expect("a QR link mailed");
    let uri = t
        .call_from(
            ip(ATTACKER),
            "user",
            "generateQrCode",
            json!({ "hashKey": link }),
        )
        .await;
    assert!(uri.as_str().unwrap().starts_with("otpauth://"), "{uri}");
    t.mail_sent().await;
    let sent = notices(&t, "Subject: An authenticator app was set up");
    assert_eq!(sent.len(), 1);
    let secret = kaltura_api::otpauth::base32_encode(&t.secret(EMAIL).await);
    assert!(sent[0].contains(START_TEXT), "{}", sent[0]);
    assert!(
        sent[0].contains(&format!("From the address: {ATTACKER}")),
        "{}",
        sent[0]
    );
    assert_clean(&sent[0], &[&link, &secret, PASSWORD]);
}

#[tokio::test]
async fn changing_the_password_on_the_account_page_mails_a_notice_without_either_password() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    const NEW: &str = "a brand new passphrase";
    let v = t
        .call_from(
            ip("2001:db8::7"),
            "adminUser",
            "updatePassword",
            json!({"email": EMAIL, "password": PASSWORD, "newEmail": "", "newPassword": NEW}),
        )
        .await;
    assert_eq!(code_of(&v), None, "{v}");
    t.mail_sent().await;
    let sent: Vec<_> = notices(&t, "Subject: Your Kaltura password was changed\r\n");
    assert_eq!(sent.len(), 1, "{:?}", t.outbox());
    assert!(sent[0].contains(START_TEXT), "{}", sent[0]);
    assert!(
        sent[0].contains("From the address: 2001:db8::7"),
        "{}",
        sent[0]
    );
    assert!(sent[0].contains("on the account page"), "{}", sent[0]);
    assert_clean(&sent[0], &[PASSWORD, NEW]);
}
