//! The API's lists on a real SQLite file, paged: every page is the slice
//! of the whole list it says it is.

mod common;

use legitka::records::store::RegisterFilter;

/// The API's pages are slices of the whole list, whatever the page and the
/// filter: read from the database a page at a time, not skipped in memory.
#[tokio::test]
async fn pages_of_the_register_and_of_the_waiting_orders_are_slices_of_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::records::store(&dir).await;
    for i in 0..70 {
        let o = common::records::valid_with(i, |v| {
            v["student"]["class"] = if i % 3 == 0 { "1a" } else { "2b" }.into();
        });
        store.offer(&o).await.unwrap();
        if i < 50 {
            common::records::print(&store, &o).await;
        }
    }
    for class in [None, Some("1a".to_string())] {
        let all = store
            .register_entries(&RegisterFilter {
                class: class.clone(),
                ..RegisterFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), if class.is_some() { 17 } else { 50 });
        for (offset, limit) in [(0, 7), (7, 7), (14, 100), (49, 7), (50, 7), (500, 7)] {
            let page = store
                .register_entries(&RegisterFilter {
                    class: class.clone(),
                    offset,
                    limit: Some(limit),
                    ..RegisterFilter::default()
                })
                .await
                .unwrap();
            let want: Vec<i64> = all
                .iter()
                .skip(offset as usize)
                .take(limit as usize)
                .map(|e| e.id)
                .collect();
            let got: Vec<i64> = page.iter().map(|e| e.id).collect();
            assert_eq!(got, want, "class {class:?}, offset {offset}, limit {limit}");
        }
    }
    let waiting = store.order_lines(&["queued"]).await.unwrap();
    assert_eq!(waiting.len(), 20);
    for (offset, limit) in [(0, 6), (6, 6), (18, 6), (20, 6)] {
        let page = store
            .order_lines_page(&["queued"], limit, offset)
            .await
            .unwrap();
        let want: Vec<&str> = waiting
            .iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|o| o.order_id.as_str())
            .collect();
        let got: Vec<&str> = page.iter().map(|o| o.order_id.as_str()).collect();
        assert_eq!(got, want, "offset {offset}, limit {limit}");
    }
}
