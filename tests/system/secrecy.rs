//! Bad input: a clear 4xx and nothing left behind.
