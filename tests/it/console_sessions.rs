//! Console sign-outs are kept in the database (`store::sessions`), so every
//! replica refuses a kept copy of a signed-out session's cookie; on every
//! backend.

use crate::common::*;
use rosterd::store::Store;

on_every_backend!(a_signed_out_session_is_refused_until_it_would_have_expired);

async fn a_signed_out_session_is_refused_until_it_would_have_expired(db: Db) {
    let db = TestDb::new(db).await;
    let s = rosterd::config::DatabaseSettings {
        url: db.url.clone(),
        ..Default::default()
    };
    let store = Store::connect(&s).await.unwrap();
    store.migrate().await.unwrap();
    // A second replica: its own pool on the same database.
    let other = Store::connect(&s).await.unwrap();

    assert!(!store.session_ended("aa").await.unwrap());
    store.end_session("aa", 2_000, 1_000).await.unwrap();
    assert!(store.session_ended("aa").await.unwrap());
    assert!(
        other.session_ended("aa").await.unwrap(),
        "every replica knows"
    );
    assert!(
        !other.session_ended("bb").await.unwrap(),
        "only that session"
    );
    // Signing out twice is not an error.
    store.end_session("aa", 2_000, 1_500).await.unwrap();
    // Rows go once their session would have expired anyway.
    other.end_session("bb", 9_000, 2_000).await.unwrap();
    assert!(!store.session_ended("aa").await.unwrap());
    assert!(store.session_ended("bb").await.unwrap());
}
