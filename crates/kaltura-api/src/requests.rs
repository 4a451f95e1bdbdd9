//! The parameters of each action, as they travel in the JSON body.
//!
//! The session (`ks`) is not part of these types: the client adds it to the
//! body of the actions that need one, and the server reads it separately.
//! Types that carry a password or a code have no `Debug`, so they cannot end
//! up in a log by accident.

use serde::{Deserialize, Serialize};

/// `user.loginByLoginId`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginByLoginId {
    pub login_id: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<String>,
    /// KMC always sends it, `""` on the first step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
}

/// `user.generateQrCode` and `user.validateHashKey`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HashKeyParams {
    pub hash_key: String,
}

/// `user.resetPassword`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetPassword {
    pub email: String,
}

/// `user.setInitialPassword` / `adminUser.setInitialPassword`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetInitialPassword {
    pub hash_key: String,
    pub new_password: String,
}

/// `adminUser.updatePassword`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatePassword {
    pub email: String,
    pub password: String,
    /// Kaltura's client sends `""` to keep the email.
    #[serde(default)]
    pub new_email: String,
    pub new_password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
}

/// `user.loginByKs`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginByKs {
    pub requested_partner_id: i64,
}

/// `partner.listPartnersForUser`. Filter and pager are accepted and passed
/// through untyped: this project lists every account of the login.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPartnersForUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_filter: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pager: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_params_use_kalturas_camel_case_names_and_omit_absent_ones() {
        let p = LoginByLoginId {
            login_id: "a@b.c".into(),
            password: "pw".into(),
            partner_id: Some(101),
            expiry: None,
            privileges: None,
            otp: Some(String::new()),
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"loginId":"a@b.c","password":"pw","partnerId":101,"otp":""}"#
        );
    }

    #[test]
    fn update_password_defaults_new_email_to_empty() {
        let p: UpdatePassword =
            serde_json::from_str(r#"{"email":"a@b.c","password":"x","newPassword":"y"}"#).unwrap();
        assert_eq!(p.new_email, "");
        assert!(p.otp.is_none());
    }
}
