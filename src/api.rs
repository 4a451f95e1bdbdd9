//! The one typed client of the Kaltura API v3 subset this app speaks.
//!
//! Every HTTP call of the app lives here: views call one async method per
//! action and get either the decoded value or an [`ApiError`]. The client
//! reaches the network through a [`Transport`], so the browser tests can put a
//! fake one in context that answers with recorded Kaltura replies.
//!
//! Serves:
//! - [`ApiClient`], provided through Leptos context ([`provide_api`], [`use_api`]), for
//!   the calls made signed out;
//! - [`SignedInClient`], the client of one session ([`ApiClient::signed_in`]): every call
//!   that needs a KS, which it carries itself;
//! - [`Transport`] and the real [`FetchTransport`] ([`crate::fetch`]);
//! - [`ApiError`], the one error type, with its Kaltura `code()`.
//!
//! Every call carries `clientTag: "kmc-login"`, so Kaltura's logs and
//! monitoring can tell this app's calls from KMC's and other clients'.

use std::fmt;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use kaltura_api::requests::{
    HashKeyParams, ListActivePartners, LoginByKs, LoginByLoginId, ResetPassword,
    SetInitialPassword, UpdatePassword,
};
use kaltura_api::responses::{
    KalturaAdminUser, KalturaAuthentication, KalturaPartner, KalturaPartnerListResponse,
    KalturaSessionResponse, KalturaUser,
};
use kaltura_api::{KalturaApiError, ReplyError, action_path};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::wire::{call_body, decode_reply};

/// The `clientTag` of every call: Kaltura logs it with each request.
pub const CLIENT_TAG: &str = "kmc-login";

pub use crate::fetch::{REQUEST_TIMEOUT_MS, TransportError};

/// Sends one POST with a JSON body and returns the reply body, whatever the
/// HTTP status (Kaltura answers errors with 200, and ours may use 413).
pub trait Transport {
    /// Posts `body` (JSON) to `url` and resolves to the reply's text.
    fn post(
        &self,
        url: String,
        body: String,
    ) -> LocalBoxFuture<'static, Result<String, TransportError>>;
}

/// The real transport: [`crate::fetch::post_json`], aborted after `timeout_ms`.
#[derive(Debug, Clone, Copy)]
pub struct FetchTransport {
    /// Milliseconds before the request is aborted.
    pub timeout_ms: u32,
}

impl Default for FetchTransport {
    fn default() -> Self {
        Self {
            timeout_ms: REQUEST_TIMEOUT_MS,
        }
    }
}

impl Transport for FetchTransport {
    fn post(
        &self,
        url: String,
        body: String,
    ) -> LocalBoxFuture<'static, Result<String, TransportError>> {
        let timeout_ms = self.timeout_ms;
        Box::pin(async move { crate::fetch::post_json(&url, body, timeout_ms).await })
    }
}

/// Everything that can go wrong with a call, as the views need to tell it apart.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server could not be reached.
    Network,
    /// The server did not answer within the timeout.
    Timeout,
    /// The server answered something that is neither the expected value nor a
    /// Kaltura error (an HTML error page from a proxy, say).
    Garbled,
    /// The server refused with a `KalturaAPIException`.
    Api(KalturaApiError),
}

impl ApiError {
    /// The Kaltura error code, when the server refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api(e) => Some(e.code.as_str()),
            _ => None,
        }
    }

    /// True when the server was not reached or its reply was unreadable: the
    /// views offer a retry and keep what the user typed.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Network | Self::Timeout | Self::Garbled)
    }

    /// True when the error is the given Kaltura code.
    pub fn is(&self, code: &str) -> bool {
        self.code() == Some(code)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network => f.write_str("the server could not be reached"),
            Self::Timeout => f.write_str("the server did not answer in time"),
            Self::Garbled => f.write_str("the server's reply could not be read"),
            Self::Api(e) => write!(f, "{}", e.code),
        }
    }
}

impl From<TransportError> for ApiError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Network => Self::Network,
            TransportError::Timeout => Self::Timeout,
        }
    }
}

impl From<ReplyError> for ApiError {
    fn from(e: ReplyError) -> Self {
        match e {
            ReplyError::Api(e) => Self::Api(e),
            ReplyError::Garbled(_) => Self::Garbled,
        }
    }
}

/// A Kaltura session (KS). No `Debug` or `Display` that shows the token, so it
/// cannot end up in a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The KS, sent as the `ks` body parameter of signed-in calls.
    pub ks: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Session { ks: <redacted> }")
    }
}

/// The typed client. Cheap to clone; provided once through context.
#[derive(Clone)]
pub struct ApiClient {
    service_url: String,
    /// `privileges` of the KS that sign-in asks for.
    privileges: String,
    /// `expiry` of the KS that sign-in asks for, in seconds.
    expiry: i64,
    // Leptos context needs Send + Sync; the browser runs one thread, so the
    // wrapper's same-thread check always holds.
    transport: SendWrapper<Rc<dyn Transport>>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("service_url", &self.service_url)
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// A client for the Kaltura server at `service_url` (without `/api_v3`),
    /// reaching it through `transport`.
    /// Sign-in asks for the KS KMC asks for
    /// ([`crate::config::DEFAULT_PRIVILEGES`], a day) until
    /// [`Self::with_ks_shape`] says otherwise.
    pub fn new(service_url: impl Into<String>, transport: Rc<dyn Transport>) -> Self {
        Self {
            service_url: service_url.into().trim_end_matches('/').to_owned(),
            privileges: crate::config::DEFAULT_PRIVILEGES.to_owned(),
            expiry: crate::config::DEFAULT_EXPIRY_SECONDS,
            transport: SendWrapper::new(transport),
        }
    }

    /// The same client, asking for KSs with these `privileges` and `expiry`
    /// (seconds) at sign-in, as `config.json` sets them.
    pub fn with_ks_shape(mut self, privileges: impl Into<String>, expiry: i64) -> Self {
        self.privileges = privileges.into();
        self.expiry = expiry;
        self
    }

    /// A client that uses the browser's fetch.
    pub fn with_fetch(service_url: impl Into<String>) -> Self {
        Self::new(service_url, Rc::new(FetchTransport::default()))
    }

    /// The service URL this client talks to.
    pub fn service_url(&self) -> &str {
        &self.service_url
    }

    /// Posts one action and decodes its reply. The KS, when given, travels in
    /// the body (never in a header, a cookie or the URL).
    async fn call<T: DeserializeOwned>(
        &self,
        service: &str,
        action: &str,
        params: &impl Serialize,
        ks: Option<&str>,
    ) -> Result<T, ApiError> {
        let body = request_body(params, ks);
        let reply = self.post(service, action, body).await?;
        Ok(decode_reply::<T>(&reply)?)
    }

    /// The one non-generic step of every call: the request itself. Kept out of
    /// [`Self::call`] so the wasm holds a single copy of this future, not one
    /// per action.
    async fn post(&self, service: &str, action: &str, body: String) -> Result<String, ApiError> {
        let url = format!("{}{}", self.service_url, action_path(service, action));
        Ok(self.transport.post(url, body).await?)
    }

    /// `user.loginByLoginId`. `otp` is `""` on the first step, as KMC sends it;
    /// `partner_id` targets one account of a login that has several. The KS
    /// is asked for with explicit `privileges` and `expiry`, as KMC asks:
    /// without them Kaltura issues `*`, which applies entitlements to admins.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        otp: &str,
        partner_id: Option<i64>,
    ) -> Result<Session, ApiError> {
        let params = LoginByLoginId {
            login_id: email.to_owned(),
            password: password.to_owned(),
            partner_id,
            expiry: Some(self.expiry),
            privileges: Some(self.privileges.clone()),
            otp: Some(otp.to_owned()),
        };
        let ks: String = self.call("user", "loginByLoginId", &params, None).await?;
        Ok(Session { ks })
    }

    /// `user.generateQrCode`: spends the link and returns the `otpauth://` URI
    /// (ours) or base64 PNG bytes (Kaltura's).
    pub async fn generate_qr_code(&self, hash_key: &str) -> Result<String, ApiError> {
        let params = HashKeyParams {
            hash_key: hash_key.to_owned(),
        };
        self.call("user", "generateQrCode", &params, None).await
    }

    /// `user.resetPassword`: asks for a reset email. The server answers the
    /// same whether or not the email exists.
    pub async fn reset_password(&self, email: &str) -> Result<(), ApiError> {
        let params = ResetPassword {
            email: email.to_owned(),
        };
        let _: IgnoredAny = self.call("user", "resetPassword", &params, None).await?;
        Ok(())
    }

    /// `user.validateHashKey`: checks a link without spending it. Returns the
    /// login's email when the server names it (this project's server does,
    /// Kaltura's does not).
    pub async fn validate_hash_key(&self, hash_key: &str) -> Result<Option<String>, ApiError> {
        let params = HashKeyParams {
            hash_key: hash_key.to_owned(),
        };
        let reply: KalturaAuthentication =
            self.call("user", "validateHashKey", &params, None).await?;
        Ok(reply.email.filter(|e| !e.trim().is_empty()))
    }

    /// `user.setInitialPassword`: sets the password through a link and returns
    /// the new `qrCode` when the login uses two-factor authentication.
    pub async fn set_initial_password(
        &self,
        hash_key: &str,
        new_password: &str,
    ) -> Result<Option<String>, ApiError> {
        let params = SetInitialPassword {
            hash_key: hash_key.to_owned(),
            new_password: new_password.to_owned(),
        };
        let reply: KalturaAuthentication = self
            .call("user", "setInitialPassword", &params, None)
            .await?;
        Ok(reply.qr_code.filter(|q| !q.is_empty()))
    }

    /// `adminUser.updatePassword` without a session (the sign-in card's
    /// expired-password step): changes a password knowing the old one, with
    /// the authenticator code when the login needs one.
    pub async fn update_password(
        &self,
        email: &str,
        old_password: &str,
        new_password: &str,
        otp: Option<&str>,
    ) -> Result<(), ApiError> {
        self.change_password(email, old_password, new_password, otp, None)
            .await
    }

    /// `adminUser.updatePassword`, from the session `ks` when there is one.
    async fn change_password(
        &self,
        email: &str,
        old_password: &str,
        new_password: &str,
        otp: Option<&str>,
        ks: Option<&str>,
    ) -> Result<(), ApiError> {
        let params = UpdatePassword {
            email: email.to_owned(),
            password: old_password.to_owned(),
            new_email: String::new(),
            new_password: new_password.to_owned(),
            otp: otp.map(str::to_owned),
        };
        let _: KalturaAdminUser = self
            .call("adminUser", "updatePassword", &params, ks)
            .await?;
        Ok(())
    }

    /// The signed-in client of `session`.
    pub fn signed_in(&self, session: Session) -> SignedInClient {
        SignedInClient {
            api: self.clone(),
            session,
        }
    }
}

/// The client of one session: every call that needs a KS is a method here,
/// carrying this session's KS in the body (never in a header, a cookie or the
/// URL). Made by [`ApiClient::signed_in`] from a sign-in's [`Session`] or the
/// one kept in `sessionStorage` ([`crate::session`]).
#[derive(Clone, Debug)]
pub struct SignedInClient {
    api: ApiClient,
    session: Session,
}

impl SignedInClient {
    /// The session's KS, for the hand-off to KMC.
    pub fn ks(&self) -> &str {
        &self.session.ks
    }

    /// The session this client signs its calls with.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// `user.get`: the session's user.
    pub async fn get_user(&self) -> Result<KalturaUser, ApiError> {
        self.api
            .call("user", "get", &NoParams {}, Some(self.ks()))
            .await
    }

    /// `partner.getInfo`: the session's account.
    pub async fn get_partner_info(&self) -> Result<KalturaPartner, ApiError> {
        self.api
            .call("partner", "getInfo", &NoParams {}, Some(self.ks()))
            .await
    }

    /// `partner.listPartnersForUser`: every active account of the session's
    /// login, on one page of 500 as KMC asks (Kaltura's default page is 30).
    pub async fn list_partners(&self) -> Result<Vec<KalturaPartner>, ApiError> {
        let reply: KalturaPartnerListResponse = self
            .api
            .call(
                "partner",
                "listPartnersForUser",
                &ListActivePartners::default(),
                Some(self.ks()),
            )
            .await?;
        Ok(reply.objects)
    }

    /// `user.loginByKs`: a session in another account of the same login. Only
    /// the reply's `ks` is read.
    pub async fn login_by_ks(&self, partner_id: i64) -> Result<Session, ApiError> {
        let params = LoginByKs {
            requested_partner_id: partner_id,
        };
        let reply: KalturaSessionResponse = self
            .api
            .call("user", "loginByKs", &params, Some(self.ks()))
            .await?;
        Ok(Session { ks: reply.ks })
    }

    /// `session.end`: revokes the KS on the server.
    pub async fn end_session(&self) -> Result<(), ApiError> {
        let _: IgnoredAny = self
            .api
            .call("session", "end", &NoParams {}, Some(self.ks()))
            .await?;
        Ok(())
    }

    /// `adminUser.updatePassword` from this session: kmc-server ends every
    /// other session of the login with the old password and keeps this one
    /// signed in. Kaltura reads no KS here and ignores it.
    pub async fn update_password(
        &self,
        email: &str,
        old_password: &str,
        new_password: &str,
        otp: Option<&str>,
    ) -> Result<(), ApiError> {
        self.api
            .change_password(email, old_password, new_password, otp, Some(self.ks()))
            .await
    }
}

/// The parameters of an action that takes none.
#[derive(Serialize)]
struct NoParams {}

/// The JSON body of a call: `ks` first when signed in, then the action's
/// parameters, then the [`CLIENT_TAG`].
fn request_body(params: &impl Serialize, ks: Option<&str>) -> String {
    call_body(ks, params, CLIENT_TAG)
}

/// Puts the client in context for every page below.
pub fn provide_api(client: ApiClient) {
    provide_context(client);
}

/// The client provided by [`provide_api`]. Panics when none was provided,
/// which is a wiring mistake, not a runtime condition.
pub fn use_api() -> ApiClient {
    expect_context::<ApiClient>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Records what was posted and answers with one canned body.
    struct Recorder {
        reply: Result<String, TransportError>,
        posted: RefCell<Vec<(String, String)>>,
    }

    impl Transport for Rc<Recorder> {
        fn post(
            &self,
            url: String,
            body: String,
        ) -> LocalBoxFuture<'static, Result<String, TransportError>> {
            self.posted.borrow_mut().push((url, body));
            let reply = self.reply.clone();
            Box::pin(async move { reply })
        }
    }

    fn session(ks: &str) -> Session {
        Session { ks: ks.to_owned() }
    }

    fn fake_client(reply: Result<&str, TransportError>) -> (ApiClient, Rc<Recorder>) {
        let recorder = Rc::new(Recorder {
            reply: reply.map(str::to_owned),
            posted: RefCell::new(Vec::new()),
        });
        let client = ApiClient::new("https://kaltura.example/", Rc::new(recorder.clone()));
        (client, recorder)
    }

    #[test]
    fn login_asks_for_the_configured_privileges_and_expiry() {
        let (client, rec) = fake_client(Ok("\"djJ8ks\""));
        let client = client.with_ks_shape("disableentitlement", 3600);
        futures::executor::block_on(client.login("a@b.c", "pw", "123456", Some(102))).unwrap();
        let body: serde_json::Value = serde_json::from_str(&rec.posted.borrow()[0].1).unwrap();
        assert_eq!(body["privileges"], "disableentitlement");
        assert_eq!(body["expiry"], 3600);
        assert_eq!(body["partnerId"], 102);
        assert_eq!(body["otp"], "123456");
    }

    #[test]
    fn every_call_carries_the_client_tag() {
        let (client, rec) = fake_client(Ok("null"));
        futures::executor::block_on(client.reset_password("a@b.c")).unwrap();
        let signed_in = client.signed_in(session("ks"));
        futures::executor::block_on(signed_in.end_session()).unwrap();
        let _ = futures::executor::block_on(signed_in.list_partners());
        for (_, body) in rec.posted.borrow().iter() {
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(body["clientTag"], "kmc-login", "{body}");
        }
    }

    #[test]
    fn the_account_list_is_asked_for_active_accounts_on_one_page_of_500() {
        let (client, rec) = fake_client(Ok(
            r#"{"objects":[{"id":101,"name":"A","objectType":"KalturaPartner"}],"totalCount":1,"objectType":"KalturaPartnerListResponse"}"#,
        ));
        let partners =
            futures::executor::block_on(client.signed_in(session("ks")).list_partners()).unwrap();
        assert_eq!(partners.len(), 1);
        let body: serde_json::Value = serde_json::from_str(&rec.posted.borrow()[0].1).unwrap();
        assert_eq!(body["pager"]["pageSize"], 500);
        assert_eq!(body["partnerFilter"]["statusEqual"], 1);
    }

    #[test]
    fn login_posts_kalturas_parameters_with_an_empty_otp_and_no_ks() {
        let (client, rec) = fake_client(Ok("\"djJ8ks\""));
        let session = futures::executor::block_on(client.login("a@b.c", "pw", "", None)).unwrap();
        assert_eq!(session.ks, "djJ8ks");
        let posted = rec.posted.borrow();
        assert_eq!(
            posted[0].0,
            "https://kaltura.example/api_v3/service/user/action/loginByLoginId?format=1"
        );
        let body: serde_json::Value = serde_json::from_str(&posted[0].1).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "loginId": "a@b.c",
                "password": "pw",
                "expiry": 86400,
                "privileges": "disableentitlement,appid:kmc",
                "otp": "",
                "clientTag": "kmc-login",
            })
        );
    }

    #[test]
    fn signed_in_calls_carry_the_ks_in_the_body() {
        let (client, rec) = fake_client(Ok("null"));
        futures::executor::block_on(client.signed_in(session("djJ8ks")).end_session()).unwrap();
        let body: serde_json::Value = serde_json::from_str(&rec.posted.borrow()[0].1).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"ks": "djJ8ks", "clientTag": "kmc-login"})
        );
    }

    #[test]
    fn the_ks_is_json_escaped_and_comes_first_in_the_parameters_object() {
        let odd = "djJ8\"},\"x\":\\";
        let body: serde_json::Value =
            serde_json::from_str(&request_body(&NoParams {}, Some(odd))).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "ks": odd, "clientTag": "kmc-login" })
        );
        let params = LoginByKs {
            requested_partner_id: 7,
        };
        let body: serde_json::Value =
            serde_json::from_str(&request_body(&params, Some(odd))).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "ks": odd, "requestedPartnerId": 7, "clientTag": "kmc-login" })
        );
        assert_eq!(
            request_body(&params, None),
            r#"{"requestedPartnerId":7,"clientTag":"kmc-login"}"#
        );
    }

    #[test]
    fn an_exception_with_empty_array_args_becomes_an_api_error_with_its_code() {
        let (client, _) = fake_client(Ok(
            r#"{"code":"MISSING_OTP","message":"OTP is missing","objectType":"KalturaAPIException","args":[]}"#,
        ));
        let err = futures::executor::block_on(client.login("a@b.c", "pw", "", None)).unwrap_err();
        assert_eq!(err.code(), Some("MISSING_OTP"));
    }

    #[test]
    fn an_exception_with_object_args_keeps_its_arguments() {
        let (client, _) = fake_client(Ok(
            r#"{"code":"INVALID_KS","message":"Invalid KS","objectType":"KalturaAPIException","args":{"KSID":"EXPIRED"}}"#,
        ));
        match futures::executor::block_on(client.signed_in(session("ks")).get_user()) {
            Err(ApiError::Api(e)) => assert_eq!(e.arg("KSID"), Some("EXPIRED")),
            other => panic!("expected INVALID_KS, got {other:?}"),
        }
    }

    #[test]
    fn an_html_reply_is_garbled_and_transport_failures_keep_their_kind() {
        let (client, _) = fake_client(Ok("<html>502</html>"));
        assert_eq!(
            futures::executor::block_on(client.reset_password("a@b.c")),
            Err(ApiError::Garbled)
        );
        let (client, _) = fake_client(Err(TransportError::Timeout));
        assert_eq!(
            futures::executor::block_on(client.reset_password("a@b.c")),
            Err(ApiError::Timeout)
        );
        let (client, _) = fake_client(Err(TransportError::Network));
        assert!(
            futures::executor::block_on(client.reset_password("a@b.c"))
                .unwrap_err()
                .is_unreachable()
        );
    }

    #[test]
    fn set_initial_password_returns_the_qr_code_only_when_present() {
        let (client, _) = fake_client(Ok(r#"{"objectType":"KalturaAuthentication"}"#));
        assert_eq!(
            futures::executor::block_on(client.set_initial_password("h", "pw")).unwrap(),
            None
        );
        let (client, _) = fake_client(Ok(
            r#"{"objectType":"KalturaAuthentication","qrCode":"otpauth://totp/x?secret=AB"}"#,
        ));
        assert_eq!(
            futures::executor::block_on(client.set_initial_password("h", "pw")).unwrap(),
            Some("otpauth://totp/x?secret=AB".to_owned())
        );
    }

    #[test]
    fn login_by_ks_needs_only_the_ks_when_kaltura_drops_the_other_fields() {
        let (client, _) = fake_client(Ok(
            r#"{"ks":"djJ8MTAyfG5ldw==","objectType":"KalturaSessionResponse"}"#,
        ));
        let s =
            futures::executor::block_on(client.signed_in(session("old")).login_by_ks(102)).unwrap();
        assert_eq!(s.ks, "djJ8MTAyfG5ldw==");
    }

    #[test]
    fn login_by_ks_reads_the_new_ks_from_the_session_response() {
        let (client, rec) = fake_client(Ok(
            r#"{"objectType":"KalturaSessionResponse","ks":"new","userId":"a@b.c","partnerId":101}"#,
        ));
        let s =
            futures::executor::block_on(client.signed_in(session("old")).login_by_ks(101)).unwrap();
        assert_eq!(s.ks, "new");
        let body: serde_json::Value = serde_json::from_str(&rec.posted.borrow()[0].1).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"requestedPartnerId":101,"ks":"old","clientTag":"kmc-login"})
        );
    }

    #[test]
    fn the_session_debug_output_hides_the_ks() {
        let s = Session {
            ks: "secret-ks".into(),
        };
        assert!(!format!("{s:?}").contains("secret-ks"));
    }
}
