//! The enrollment view shared by the enrollment and set-password pages.
