//! Full-stack browser tests.
