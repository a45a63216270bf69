//! One paginator for every streamed CSV export (users, changes, an application's users): the
//! header before the first page, each page's rows, the query for the next page, and the line that
//! ends a file whose read failed. The runtime only streams the chunks; tests join them.

use crate::store::StoreError;

/// The last line of an export whose read failed after the headers were sent: the status can no
/// longer say so, the file must.
pub const INCOMPLETE: &str = "\"export incomplete: the database could not be read\"\r\n";

/// A CSV export over a store of type `S`, read a page at a time.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait CsvExport<S> {
    /// What selects one page (filters, page size, position after the previous page).
    type Query;

    /// The header line, sent once before the first page.
    fn header(&self) -> String;

    /// The rows of page `q`, and the query for the next page (`None` after the last).
    ///
    /// # Errors
    /// A storage failure.
    async fn page(
        &self,
        store: &S,
        q: &Self::Query,
    ) -> Result<(String, Option<Self::Query>), StoreError>;
}

/// One piece of the file to send.
#[derive(Debug)]
pub struct CsvChunk<Q> {
    /// The text: the header (first chunk only), then the page's rows or [`INCOMPLETE`].
    pub text: String,
    /// The next page's query; `None` at the end of the file.
    pub next: Option<Q>,
    /// Why the read failed, for the log; the file then ends with [`INCOMPLETE`].
    pub failure: Option<StoreError>,
}

/// Reads page `q` into a chunk; `first` puts the header before it.
pub async fn chunk<S, X: CsvExport<S>>(
    export: &X,
    store: &S,
    q: &X::Query,
    first: bool,
) -> CsvChunk<X::Query> {
    let mut text = if first {
        export.header()
    } else {
        String::new()
    };
    match export.page(store, q).await {
        Ok((rows, next)) => {
            text.push_str(&rows);
            CsvChunk {
                text,
                next,
                failure: None,
            }
        }
        Err(e) => {
            text.push_str(INCOMPLETE);
            CsvChunk {
                text,
                next: None,
                failure: Some(e),
            }
        }
    }
}

/// The whole file as one string, chunk after chunk as the runtime streams it: for tests.
///
/// # Errors
/// The first storage failure (where the stream would end the file with [`INCOMPLETE`]).
#[cfg(test)]
pub(super) async fn whole<S, X: CsvExport<S>>(
    export: &X,
    store: &S,
    first: X::Query,
) -> Result<String, StoreError> {
    let mut out = String::new();
    let mut next = Some(first);
    let mut is_first = true;
    while let Some(q) = next {
        let c = chunk(export, store, &q, is_first).await;
        if let Some(e) = c.failure {
            return Err(e);
        }
        out.push_str(&c.text);
        next = c.next;
        is_first = false;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::testing::block_on;

    /// Rows 0..len in pages of `size`, recording each page read; fails at page `fail_at`.
    struct Numbers {
        len: u32,
        size: u32,
        fail_at: Option<u32>,
        reads: RefCell<Vec<u32>>,
    }

    impl CsvExport<()> for Numbers {
        type Query = u32;

        fn header(&self) -> String {
            "n\r\n".into()
        }

        async fn page(&self, _: &(), from: &u32) -> Result<(String, Option<u32>), StoreError> {
            self.reads.borrow_mut().push(*from);
            if self.fail_at == Some(*from) {
                return Err(StoreError {
                    op: "read numbers",
                    detail: "disk on fire".into(),
                });
            }
            let to = (*from + self.size).min(self.len);
            let rows = (*from..to).map(|n| format!("{n}\r\n")).collect();
            Ok((rows, (to < self.len).then_some(to)))
        }
    }

    fn numbers(len: u32, size: u32, fail_at: Option<u32>) -> Numbers {
        Numbers {
            len,
            size,
            fail_at,
            reads: RefCell::default(),
        }
    }

    #[test]
    fn the_header_comes_once_then_every_page_in_order() {
        let x = numbers(7, 3, None);
        let csv = block_on(whole(&x, &(), 0)).unwrap();
        assert_eq!(csv, "n\r\n0\r\n1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n");
        assert_eq!(*x.reads.borrow(), [0, 3, 6]);
    }

    #[test]
    fn an_empty_export_is_the_header_alone() {
        let x = numbers(0, 3, None);
        assert_eq!(block_on(whole(&x, &(), 0)).unwrap(), "n\r\n");
    }

    #[test]
    fn a_failed_page_ends_the_file_saying_so_and_reads_no_further() {
        let x = numbers(9, 3, Some(3));
        let first = block_on(chunk(&x, &(), &0, true));
        assert_eq!(first.text, "n\r\n0\r\n1\r\n2\r\n");
        assert_eq!(first.next, Some(3));
        let failed = block_on(chunk(&x, &(), &3, false));
        assert_eq!(failed.text, INCOMPLETE);
        assert_eq!(failed.next, None);
        assert_eq!(failed.failure.map(|e| e.op), Some("read numbers"));
        let e = block_on(whole(&x, &(), 0)).unwrap_err();
        assert_eq!(e.detail, "disk on fire");
        assert_eq!(*x.reads.borrow(), [0, 3, 0, 3]);
    }
}
