//! The server's own pruning: sessions, links and request-limit windows past
//! their time are deleted by a pass, rows still live are kept, and pruners
//! of two replicas running at once neither conflict nor fail. Time moves on
//! the test clock; passes are run directly (as `serve` runs them on a timer).

mod common;

use common::*;
use kmc_server::auth::links::{self, Kind};
use kmc_server::auth::rate_limit;
use kmc_server::auth::sessions;
use kmc_server::prune::{self, BATCH, Pruned};
use serde_json::json;

/// How long ended sessions are kept in these tests (the pass's `kept_secs`).
const KEPT: i64 = 300;

/// Signs [`EMAIL`] in with a session of `expiry` seconds; the KS.
async fn session(t: &TestApp, expiry: i64) -> String {
    let v = t
        .call(
            "user",
            "loginByLoginId",
            json!({"loginId": EMAIL, "password": PASSWORD, "expiry": expiry}),
        )
        .await;
    v.as_str()
        .unwrap_or_else(|| panic!("no session: {v}"))
        .to_owned()
}

async fn pass(t: &TestApp) -> Pruned {
    prune::pass(&t.state, KEPT).await.unwrap()
}

/// Whether a KS still signs in, and if not, the `KSID` its refusal names.
async fn ks_state(t: &TestApp, ks: &str) -> String {
    let v = t.user_get(ks).await;
    match code_of(&v) {
        None => "live".into(),
        Some(_) => v["args"]["KSID"].as_str().unwrap_or_default().to_owned(),
    }
}

#[tokio::test]
async fn sessions_ended_or_expired_a_kept_interval_ago_are_deleted_and_live_ones_stay() {
    let t = app().await;
    t.login_in(&[("Media", false)]).await;
    let ended = session(&t, 3600).await;
    let short = session(&t, 60).await;
    let live = session(&t, 24 * 3600).await;
    assert!(
        t.call("session", "end", json!({"ks": ended}))
            .await
            .is_null()
    );
    assert_eq!(t.rows("sessions").await, 3);

    // Just ended: kept, and still answered as ended.
    assert_eq!(pass(&t).await.sessions, 0);
    assert_eq!(ks_state(&t, &ended).await, "LOGOUT");

    // One kept interval after its end the ended one goes; the short one
    // expired only 241 s ago and stays, answered as expired.
    t.clock.advance(KEPT + 1);
    assert_eq!(ks_state(&t, &short).await, "EXPIRED");
    assert_eq!(pass(&t).await.sessions, 1);
    assert_eq!(ks_state(&t, &ended).await, "INVALID");
    assert_eq!(ks_state(&t, &short).await, "EXPIRED");

    t.clock.advance(60);
    assert_eq!(pass(&t).await.sessions, 1);
    assert_eq!(ks_state(&t, &short).await, "INVALID");
    assert_eq!(ks_state(&t, &live).await, "live");
    assert_eq!(t.rows("sessions").await, 1);
}

#[tokio::test]
async fn expired_links_are_kept_a_week_for_their_page_then_deleted_and_live_ones_stay() {
    let t = app().await;
    t.login_in(&[("Media", false)]).await;
    let other = t.partner("Other", false).await;
    t.user(other, "bob@example.com").await;
    let ada = kmc_server::store::login_by_email(&t.state.pool, EMAIL)
        .await
        .unwrap()
        .unwrap()
        .id;
    let bob = kmc_server::store::login_by_email(&t.state.pool, "bob@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = t.state.now();
    let old = links::issue(&t.state.pool, ada, Kind::Reset, now)
        .await
        .unwrap();
    let old_qr = links::issue(&t.state.pool, ada, Kind::Qr, now)
        .await
        .unwrap();
    t.clock.advance(links::EXPIRED_KEPT + links::QR_TTL - 1);
    let fresh = links::issue(&t.state.pool, bob, Kind::Reset, t.state.now())
        .await
        .unwrap();
    let links_now = t.rows("link_tokens").await;
    assert_eq!(links_now, 3);

    // The reset link expired more than a week ago and goes; the QR link
    // expired a second short of a week ago and stays, its page still told
    // that it expired.
    assert_eq!(pass(&t).await.links, 1);
    let expired = links::peek(&t.state.pool, &old_qr, Kind::Qr, t.state.now())
        .await
        .unwrap();
    assert_eq!(expired, Err(links::LinkError::Expired));
    let gone = links::peek(&t.state.pool, &old, Kind::Reset, t.state.now())
        .await
        .unwrap();
    assert_eq!(gone, Err(links::LinkError::Invalid));

    t.clock.advance(1);
    assert_eq!(pass(&t).await.links, 1);
    let live = links::peek(&t.state.pool, &fresh, Kind::Reset, t.state.now())
        .await
        .unwrap();
    assert_eq!(live, Ok(bob));
    assert_eq!(t.rows("link_tokens").await, 1);
}

#[tokio::test]
async fn ended_reset_limit_windows_are_deleted_and_open_ones_stay() {
    let t = app().await;
    t.login_in(&[("Media", false)]).await;
    let ask = |email: &'static str| {
        let t = &t;
        async move {
            let v = t
                .call("user", "resetPassword", json!({ "email": email }))
                .await;
            assert!(v.is_null(), "{v}");
        }
    };
    ask("ada@example.com").await;
    t.clock.advance(rate_limit::WINDOW - 1);
    ask("nobody@example.com").await;
    t.mail_sent().await;
    assert_eq!(t.rows("request_limits").await, 2);

    t.clock.advance(1);
    assert_eq!(pass(&t).await.request_limits, 1);
    assert_eq!(t.rows("request_limits").await, 1);
    t.clock.advance(rate_limit::WINDOW);
    assert_eq!(pass(&t).await.request_limits, 1);
    assert_eq!(t.rows("request_limits").await, 0);
}

#[tokio::test]
async fn pruners_of_two_replicas_at_once_delete_every_dead_row_once_without_error() {
    let t = app().await;
    t.login_in(&[("Media", false)]).await;
    let login = kmc_server::store::login_by_email(&t.state.pool, EMAIL)
        .await
        .unwrap()
        .unwrap();
    let partner = kmc_server::store::partners_of(&t.state.pool, login.id)
        .await
        .unwrap()[0]
        .id;
    // Several batches of expired sessions, and a few live ones.
    let dead = 3 * BATCH + 7;
    let live = 5;
    let now = t.state.now();
    let mut tx = t.state.pool.begin().await.unwrap();
    for i in 0..dead + live {
        let expires_at = if i < dead { now - KEPT } else { now + 3600 };
        sessions::create(
            &mut tx,
            sessions::New {
                login_id: login.id,
                partner_id: partner,
                privileges: "*",
                expires_at,
                proven_with_code: false,
                epoch: login.session_epoch,
            },
            now - 4000,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let other = t.second_state().await;
    let (a, b) = tokio::join!(
        tokio::spawn({
            let s = t.state.clone();
            async move { prune::pass(&s, KEPT).await }
        }),
        tokio::spawn(async move { prune::pass(&other, KEPT).await }),
    );
    let (a, b) = (a.unwrap().unwrap(), b.unwrap().unwrap());
    assert_eq!(a.sessions + b.sessions, dead as u64, "{a:?} {b:?}");
    assert_eq!(t.rows("sessions").await, live);
}
