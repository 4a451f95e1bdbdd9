//! The manual key for authenticator apps that cannot scan.
