//! The parameters of each action, as they travel in the JSON body.
//!
//! The session (`ks`) is not part of these types: the client adds it to the
//! body of the actions that need one, and the server reads it separately.
//! Types that carry a password or a code have no `Debug`, so they cannot end
//! up in a log by accident.

use serde::{Deserialize, Serialize, Serializer};

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
#[cfg(feature = "json")]
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

impl Serialize for ListActivePartners {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Filter {
            object_type: &'static str,
            status_equal: i64,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Pager {
            object_type: &'static str,
            page_size: i64,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            partner_filter: Filter,
            pager: Pager,
        }
        Body {
            partner_filter: Filter {
                object_type: "KalturaPartnerFilter",
                status_equal: PARTNER_STATUS_ACTIVE,
            },
            pager: Pager {
                object_type: "KalturaFilterPager",
                page_size: self.page_size,
            },
        }
        .serialize(s)
    }
}

#[cfg(all(test, feature = "json"))]
mod tests {
    use super::*;

    /// Every request reads back, through serde, as what was written.
    fn round_trips<T: Serialize + serde::de::DeserializeOwned>(params: &T) {
        let text = serde_json::to_string(params).unwrap();
        let read: T = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&read).unwrap(), text);
    }

    #[test]
    fn every_request_reads_back_what_it_writes_with_odd_characters() {
        for (partner_id, otp) in [(None, None), (Some(101), Some("123456"))] {
            round_trips(&LoginByLoginId {
                login_id: "a\"@b.c".into(),
                password: "p\\w\n é".into(),
                partner_id,
                expiry: Some(86_400),
                privileges: Some("a:b".into()),
                otp: otp.map(str::to_owned),
            });
            round_trips(&UpdatePassword {
                email: "a@b.c".into(),
                password: "old".into(),
                new_email: String::new(),
                new_password: "new\u{0}".into(),
                otp: otp.map(str::to_owned),
            });
        }
        round_trips(&HashKeyParams {
            hash_key: "k/+=".into(),
        });
        round_trips(&ResetPassword {
            email: "a@b.c".into(),
        });
        round_trips(&SetInitialPassword {
            hash_key: "k".into(),
            new_password: "😀".into(),
        });
        round_trips(&LoginByKs {
            requested_partner_id: i64::MIN,
        });
    }

    #[test]
    fn the_account_list_asks_for_active_accounts_on_a_page_of_500_as_kmc_does() {
        let text = serde_json::to_string(&ListActivePartners::default()).unwrap();
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
