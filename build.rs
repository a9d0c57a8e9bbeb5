// `sqlx::migrate!()` embeds `migrations/` when the crate compiles: without
// this line a new migration file alone would not rebuild it, and a build
// would run without its migration (as sqlx's documentation says).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
