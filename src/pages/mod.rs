//! One routed page per file.
//!
//! - [`login::LoginPage`] (`/login`): the sign-in card with its code step;
//! - [`account::AccountPage`] (`/account`): who is signed in, switching, logout;
//! - [`enroll::EnrollPage`] (`/actions/auth-info/:hash_key`): the QR enrollment;
//! - [`restore_password::RestorePasswordPage`] (`/actions/restore-password/:hash_key`);
//! - [`reset_request::ResetRequestPage`] (`/reset-password`): a reset link for a lost
//!   authenticator.
//!
//! No page imports another: what two pages share is in [`crate::components`]
//! or a module of its own.

pub mod account;
pub mod enroll;
pub mod login;
pub mod reset_request;
pub mod restore_password;
