//! Appending to the access change history (`access_events`): the store side of `crate::changes`.

use super::{RowsWritten, StoreError};
use crate::changes::NewEvent;

/// What writers of the change history need from storage.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait ChangeStore {
    /// Appends these events in order, skipping any whose `dedupe` key is already stored (a
    /// retried or resumed run writing the same event again). One statement per
    /// `changes::EVENTS_PER_STATEMENT` events; returns the rows written.
    ///
    /// # Errors
    /// Any database failure.
    async fn record_events(&self, events: &[NewEvent]) -> Result<RowsWritten, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::{EventType, Origin, Subject};
    use crate::store::memory::MemoryStore;
    use crate::testing::block_on;

    #[test]
    fn memory_skips_a_stored_key_as_the_sql_does() {
        let store = MemoryStore::default();
        let e = |run, user: &str| {
            NewEvent::new(
                &Origin::Run(run),
                "t",
                EventType::UserAdded,
                Subject {
                    user_id: Some(user.into()),
                    ..Subject::default()
                },
                format!("added: {user}"),
            )
        };
        let first = [e(1, "a"), e(1, "b")];
        assert_eq!(block_on(store.record_events(&first)).unwrap(), 2);
        assert_eq!(
            block_on(store.record_events(&[e(1, "b"), e(2, "b")])).unwrap(),
            1
        );
        let stored = store.access_events.borrow();
        let keys: Vec<_> = stored.iter().map(|s| s.dedupe.as_str()).collect();
        assert_eq!(
            keys,
            [&first[0].dedupe, &first[1].dedupe, &e(2, "b").dedupe]
        );
    }
}
