//! Tests of the store as a whole.

mod rows_written;
