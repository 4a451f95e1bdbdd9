//! The KS lifecycle (user.get, partner.getInfo, listPartnersForUser,
//! session.end, expiry) and the account switching rules of `loginByKs`.

mod common;

use common::*;
use kaltura_api::codes;
use serde_json::{Value, json};

/// A password-only account and a 2FA account, one login in both.
async fn two_accounts(t: &TestApp) -> (i64, i64) {
    let ids = t.login_in(&[("Sandbox", false), ("Media", true)]).await;
    (ids[0], ids[1])
}

#[tokio::test]
async fn a_ks_reads_the_user_the_account_and_the_accounts_list() {
    let t = app().await;
    let (sandbox, media) = two_accounts(&t).await;
    let ks = t.login_to(sandbox, PASSWORD, "").await;
    let user = t.user_get(&ks).await;
    assert_eq!(user["objectType"], "KalturaUser");
    assert_eq!(user["id"], "ada@example.com");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["fullName"], "Ada Lovelace");
    assert_eq!(user["partnerId"], sandbox);
    assert_eq!(user["isAdmin"], true);
    let partner = t.call("partner", "getInfo", json!({"ks": ks})).await;
    assert_eq!(
        partner,
        json!({"objectType": "KalturaPartner", "id": sandbox, "name": "Sandbox"})
    );
    let list = t
        .call(
            "partner",
            "listPartnersForUser",
            json!({"ks": ks, "pager": {"pageSize": 500}}),
        )
        .await;
    assert_eq!(list["objectType"], "KalturaPartnerListResponse");
    assert_eq!(list["totalCount"], 2);
    let ids: Vec<i64> = list["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![sandbox, media]);
    assert!(sandbox >= 100);
}

#[tokio::test]
async fn session_end_revokes_the_ks_with_ksid_logout() {
    let t = app().await;
    let (sandbox, _) = two_accounts(&t).await;
    let ks = t.login_to(sandbox, PASSWORD, "").await;
    assert!(t.call("session", "end", json!({"ks": ks})).await.is_null());
    assert_ks_refused(&t, &ks, "LOGOUT").await;
}

/// A sign-in to `partner` asking for a session of `expiry` seconds.
async fn login_for(t: &TestApp, partner: i64, expiry: i64) -> Value {
    t.call(
        "user",
        "loginByLoginId",
        json!({"loginId": EMAIL, "password": PASSWORD, "partnerId": partner, "expiry": expiry}),
    )
    .await
}

/// Asserts `ks` is refused as `INVALID_KS` for `ksid`.
async fn assert_ks_refused(t: &TestApp, ks: &Value, ksid: &str) {
    let v = t.user_get(ks).await;
    assert_error(&v, codes::INVALID_KS);
    assert_eq!(v["args"]["KSID"], ksid);
}

#[tokio::test]
async fn a_ks_expires_at_the_requested_expiry_with_ksid_expired() {
    let t = app().await;
    let (sandbox, _) = two_accounts(&t).await;
    let ks = login_for(&t, sandbox, 60).await;
    t.clock.advance(59);
    assert_eq!(t.user_get(&ks).await["objectType"], "KalturaUser");
    t.clock.advance(1);
    assert_ks_refused(&t, &ks, "EXPIRED").await;
}

#[tokio::test]
async fn a_ks_never_lives_longer_than_a_day() {
    let t = app().await;
    let (sandbox, _) = two_accounts(&t).await;
    let ks = login_for(&t, sandbox, 9_999_999).await;
    t.clock.advance(24 * 3600);
    let v = t.call("partner", "getInfo", json!({"ks": ks})).await;
    assert_eq!(v["args"]["KSID"], "EXPIRED");
}

#[tokio::test]
async fn a_session_aged_in_the_database_is_expired() {
    let t = app().await;
    let (sandbox, _) = two_accounts(&t).await;
    let ks = t.login_to(sandbox, PASSWORD, "").await;
    sqlx::query("UPDATE sessions SET expires_at = 0")
        .execute(&t.state.pool)
        .await
        .unwrap();
    let v = t.user_get(&ks).await;
    assert_eq!(v["args"]["KSID"], "EXPIRED");
}

#[tokio::test]
async fn the_database_holds_only_a_hash_of_the_ks() {
    let t = app().await;
    let (sandbox, _) = two_accounts(&t).await;
    let ks = t.login_to(sandbox, PASSWORD, "").await;
    let ks = ks.as_str().unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT ks_hash FROM sessions")
        .fetch_one(&t.state.pool)
        .await
        .unwrap();
    assert_eq!(stored, kmc_server::auth::token_hash(ks));
    assert!(ks.len() >= 22);
}

#[tokio::test]
async fn unknown_and_missing_ks_are_refused() {
    let t = app().await;
    let v = t.user_get("not-a-session").await;
    assert_error(&v, codes::INVALID_KS);
    let v = t.call("partner", "getInfo", json!({})).await;
    assert_error(&v, codes::MISSING_KS);
    let v = t.call("session", "end", json!({})).await;
    assert_error(&v, codes::MISSING_KS);
}

#[tokio::test]
async fn switching_from_password_only_into_2fa_needs_a_new_login() {
    let t = app().await;
    let (sandbox, media) = two_accounts(&t).await;
    let ks = t.login_to(sandbox, PASSWORD, "").await;
    let v = t.login_by_ks(&ks, media).await;
    assert_error(&v, codes::NEW_LOGIN_REQUIRED);
}

#[tokio::test]
async fn switching_from_2fa_to_password_only_and_2fa_to_2fa_is_direct() {
    let t = app().await;
    let (sandbox, media) = two_accounts(&t).await;
    let media2 = t.login_in(&[("Media Two", true)]).await[0];
    let code = t.code("ada@example.com", 0).await;
    let ks = t.login_to(media, PASSWORD, &code).await;
    assert!(ks.is_string(), "{ks}");
    let v = t.login_by_ks(&ks, media2).await;
    assert_eq!(v["objectType"], "KalturaSessionResponse");
    assert_eq!(v["partnerId"], media2);
    assert_eq!(v["userId"], "ada@example.com");
    let info = t.call("partner", "getInfo", json!({"ks": v["ks"]})).await;
    assert_eq!(info["id"], media2);
    let v = t.login_by_ks(&v["ks"], sandbox).await;
    assert_eq!(v["partnerId"], sandbox);
    // The switch is remembered as the last used account.
    assert!(
        t.call(
            "user",
            "loginByLoginId",
            json!({"loginId": "ada@example.com", "password": PASSWORD, "otp": ""})
        )
        .await
        .is_string()
    );
}

#[tokio::test]
async fn switching_into_an_account_of_someone_else_is_refused() {
    let t = app().await;
    let (sandbox, _) = two_accounts(&t).await;
    let other = t.partner("Other", false).await;
    let ks = t.login_to(sandbox, PASSWORD, "").await;
    let v = t.login_by_ks(&ks, other).await;
    assert_error(&v, codes::INVALID_PARTNER_ID);
    let v = t.call("user", "loginByKs", json!({"ks": ks})).await;
    assert_error(&v, codes::MISSING_MANDATORY_PARAMETER);
}

#[tokio::test]
async fn a_switched_session_does_not_outlive_the_original() {
    let t = app().await;
    let (sandbox, _) = two_accounts(&t).await;
    let other = t.login_in(&[("Sandbox Two", false)]).await[0];
    let ks = t
        .call(
            "user",
            "loginByLoginId",
            json!({"loginId": "ada@example.com", "password": PASSWORD, "partnerId": sandbox, "expiry": 100}),
        )
        .await;
    let v = t.login_by_ks(&ks, other).await;
    t.clock.advance(100);
    let r = t.user_get(&v["ks"]).await;
    assert_eq!(r["args"]["KSID"], "EXPIRED");
}
