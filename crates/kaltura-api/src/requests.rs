//! The parameters of each action, as they travel in the JSON body.
//!
//! The session (`ks`) is not part of these types: the client adds it to the
//! body of the actions that need one, and the server reads it separately.
//! Types that carry a password or a code have no `Debug`, so they cannot end
//! up in a log by accident.

use serde::{Deserialize, Serialize};

use crate::json::{JsonObject, ToJson};

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

/// What the app sends to `partner.listPartnersForUser`, as KMC sends it: the
/// active accounts only (`partnerFilter.statusEqual`), on one page of
/// `page_size`. Without a pager Kaltura answers at most 30 accounts and its
/// `totalCount` counts only that page, so a login with more would lose some.
/// The server reads the same body as [`ListPartnersForUser`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListActivePartners {
    /// `pager.pageSize`; KMC asks for 500.
    pub page_size: i64,
}

/// `KalturaPartnerStatus::ACTIVE`.
pub const PARTNER_STATUS_ACTIVE: i64 = 1;

impl Default for ListActivePartners {
    fn default() -> Self {
        Self { page_size: 500 }
    }
}

// Writers for the app (see `crate::json`): the same names as the serde
// attributes above; `tests::app_writers_*` pin the two together.

impl ToJson for LoginByLoginId {
    fn to_json(&self, out: &mut JsonObject) {
        out.string("loginId", &self.login_id)
            .string("password", &self.password)
            .opt_int("partnerId", self.partner_id)
            .opt_int("expiry", self.expiry)
            .opt_string("privileges", self.privileges.as_deref())
            .opt_string("otp", self.otp.as_deref());
    }
}

impl ToJson for HashKeyParams {
    fn to_json(&self, out: &mut JsonObject) {
        out.string("hashKey", &self.hash_key);
    }
}

impl ToJson for ResetPassword {
    fn to_json(&self, out: &mut JsonObject) {
        out.string("email", &self.email);
    }
}

impl ToJson for SetInitialPassword {
    fn to_json(&self, out: &mut JsonObject) {
        out.string("hashKey", &self.hash_key)
            .string("newPassword", &self.new_password);
    }
}

impl ToJson for UpdatePassword {
    fn to_json(&self, out: &mut JsonObject) {
        out.string("email", &self.email)
            .string("password", &self.password)
            .string("newEmail", &self.new_email)
            .string("newPassword", &self.new_password)
            .opt_string("otp", self.otp.as_deref());
    }
}

impl ToJson for LoginByKs {
    fn to_json(&self, out: &mut JsonObject) {
        out.int("requestedPartnerId", self.requested_partner_id);
    }
}

impl ToJson for ListActivePartners {
    fn to_json(&self, out: &mut JsonObject) {
        let mut filter = JsonObject::new();
        filter
            .string("objectType", "KalturaPartnerFilter")
            .int("statusEqual", PARTNER_STATUS_ACTIVE);
        let mut pager = JsonObject::new();
        pager
            .string("objectType", "KalturaFilterPager")
            .int("pageSize", self.page_size);
        out.object("partnerFilter", filter).object("pager", pager);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The app's text, read as JSON, equals what serde writes for the same value.
    fn same_as_serde<T: ToJson + Serialize>(params: &T) {
        let mut out = JsonObject::new();
        params.to_json(&mut out);
        let ours: serde_json::Value = serde_json::from_str(&out.finish()).unwrap();
        assert_eq!(ours, serde_json::to_value(params).unwrap());
    }

    #[test]
    fn app_writers_write_what_serde_writes_for_every_request() {
        for (partner_id, otp) in [(None, None), (Some(101), Some("123456"))] {
            same_as_serde(&LoginByLoginId {
                login_id: "a\"@b.c".into(),
                password: "p\\w\n é".into(),
                partner_id,
                expiry: Some(86_400),
                privileges: Some("a:b".into()),
                otp: otp.map(str::to_owned),
            });
            same_as_serde(&UpdatePassword {
                email: "a@b.c".into(),
                password: "old".into(),
                new_email: String::new(),
                new_password: "new\u{0}".into(),
                otp: otp.map(str::to_owned),
            });
        }
        same_as_serde(&HashKeyParams {
            hash_key: "k/+=".into(),
        });
        same_as_serde(&ResetPassword {
            email: "a@b.c".into(),
        });
        same_as_serde(&SetInitialPassword {
            hash_key: "k".into(),
            new_password: "😀".into(),
        });
        same_as_serde(&LoginByKs {
            requested_partner_id: i64::MIN,
        });
    }

    #[test]
    fn the_account_list_asks_for_active_accounts_on_a_page_of_500_as_kmc_does() {
        let mut out = JsonObject::new();
        ListActivePartners::default().to_json(&mut out);
        let text = out.finish();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "partnerFilter": {"objectType": "KalturaPartnerFilter", "statusEqual": 1},
                "pager": {"objectType": "KalturaFilterPager", "pageSize": 500},
            })
        );
        let read: ListPartnersForUser = serde_json::from_str(&text).unwrap();
        assert_eq!(read.pager.unwrap()["pageSize"], 500);
        assert_eq!(read.partner_filter.unwrap()["statusEqual"], 1);
    }

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
