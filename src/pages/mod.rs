//! One routed page per file.
//!
//! - [`login::LoginPage`] (`/login`): the sign-in card with its code step;
//! - [`account::AccountPage`] (`/account`): who is signed in, switching, logout;
//! - [`enroll::Enroll`] (`/actions/auth-info/:hashKey`): the QR enrollment;
//! - [`restore_password::RestorePassword`] (`/actions/restore-password/:hashKey`).

pub mod account;
pub mod enroll;
pub mod login;
pub mod restore_password;
