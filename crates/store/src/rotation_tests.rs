//! The rotation rows several processes share: a request refused while one is
//! unfinished, a claim only one process wins, and a row left running by a killed
//! process taken again once its lease ran out.

use crate::tests::setup;
use crate::{RotationRequest, RotationState};

#[tokio::test]
async fn a_request_is_refused_while_a_rotation_of_that_key_is_unfinished() {
    let (_dir, _db, store, _blobs) = setup().await;
    let tx = store.begin_audited().await.unwrap();
    let RotationRequest::Opened(first) = tx.request_rotation("triage", None, 100).await.unwrap() else {
        panic!("the first request opens a rotation");
    };
    tx.commit().await.unwrap();
    assert_eq!(first.known_state(), Some(RotationState::Requested));
    let tx = store.begin_audited().await.unwrap();
    assert_eq!(
        tx.request_rotation("triage", None, 101).await.unwrap(),
        RotationRequest::Unfinished(first.clone())
    );
    // Another key is another matter.
    assert!(matches!(
        tx.request_rotation("recovery", None, 101).await.unwrap(),
        RotationRequest::Opened(_)
    ));
    drop(tx);
    let unfinished = store.unfinished_rotations().await.unwrap();
    assert_eq!(
        unfinished,
        vec![first.clone()],
        "the dropped request wrote nothing"
    );

    store
        .record_rotation(&first.id, "done", Some("age1new"), 3, 3, Some("done"), 102)
        .await
        .unwrap();
    let tx = store.begin_audited().await.unwrap();
    assert!(matches!(
        tx.request_rotation("triage", None, 103).await.unwrap(),
        RotationRequest::Opened(_)
    ));
}

#[tokio::test]
async fn one_claim_wins_and_a_row_nobody_touches_is_claimed_again() {
    let (_dir, _db, store, _blobs) = setup().await;
    let tx = store.begin_audited().await.unwrap();
    let RotationRequest::Opened(r) = tx.request_rotation("triage", None, 1_000).await.unwrap() else {
        panic!("opened");
    };
    tx.commit().await.unwrap();
    let lease = 60;
    let now = 1_010;
    let claim = || store.claim_rotation(&r.id, now, now - lease);
    let claims = tokio::join!(claim(), claim(), claim(), claim());
    let won = [claims.0, claims.1, claims.2, claims.3]
        .into_iter()
        .filter(|c| *c.as_ref().unwrap())
        .count();
    assert_eq!(won, 1, "one process takes it");
    let row = store.rotation(&r.id).await.unwrap().unwrap();
    assert_eq!(row.known_state(), Some(RotationState::Running));
    assert_eq!(row.updated_at, now);

    // While its process touches it, nobody else takes it.
    store.touch_rotation(&r.id, now + 50).await.unwrap();
    let later = now + 100;
    assert!(!store.claim_rotation(&r.id, later, later - lease).await.unwrap());
    // Once nothing touched it for a lease, its process is taken for dead.
    let much_later = now + 50 + lease + 1;
    assert!(
        store
            .claim_rotation(&r.id, much_later, much_later - lease)
            .await
            .unwrap()
    );

    // A process that stops gives it back, to be claimed at once, its progress kept.
    store
        .record_rotation(&r.id, "running", None, 7, 10, Some("re-wrapping"), much_later)
        .await
        .unwrap();
    store
        .release_rotation(&r.id, "given back", much_later + 1)
        .await
        .unwrap();
    let row = store.rotation(&r.id).await.unwrap().unwrap();
    assert_eq!(row.known_state(), Some(RotationState::Requested));
    assert_eq!((row.done, row.total), (7, 10));
    assert!(
        store
            .claim_rotation(&r.id, much_later + 2, much_later + 2 - lease)
            .await
            .unwrap()
    );

    // A finished rotation is never claimed.
    store
        .record_rotation(&r.id, "done", None, 10, 10, Some("done"), much_later + 3)
        .await
        .unwrap();
    let far = much_later + 10_000;
    assert!(!store.claim_rotation(&r.id, far, far - lease).await.unwrap());
}
