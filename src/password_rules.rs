//! The password rules, checked while the user types.
