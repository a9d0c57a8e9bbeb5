//! `legitka`: the print station's one executable, with git-style
//! sub-commands (one file each under `src/cmd/`).

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "Print station for Polish school ID cards (legitymacja szkolna)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the station: take orders over MQTT and print them.
    Daemon(cmd::daemon::Args),
    /// Everything on one machine: embedded broker, simulator, station, and N orders.
    Demo(cmd::demo::Args),
    /// Render one order (JSON as the central system sends it) without printing.
    Render(cmd::render::Args),
    /// A batch proof: cards on A4 at true scale with crop marks.
    Proof(cmd::proof::Args),
    /// Check card templates and printer profiles.
    Templates(cmd::templates::Args),
    /// Printers of other makes over IPP: `probe URI` says what a printer or
    /// CUPS queue takes and which profile fits.
    Printers(cmd::printers::PrintersArgs),
    /// List orders and their state.
    Orders(cmd::orders::ListArgs),
    /// Release a held card to print (again): the operator's word.
    Release(cmd::orders::ReleaseArgs),
    /// A held card came out whole after all: register it, do not reprint.
    Confirm(cmd::orders::ConfirmArgs),
    /// An order held because its pupil's photo was revoked will not print:
    /// delete its data and tell the central system.
    Discard(cmd::orders::DiscardArgs),
    /// Batches of waiting orders on numbered blanks: start, pause, resume,
    /// cancel, list, show.
    Batch(cmd::batch::BatchArgs),
    /// Numbered card blanks: deliveries (receive), the stack in the printer
    /// (load), destroyed or returned ones, stock.
    Blanks(cmd::blanks::BlanksArgs),
    /// Hologram stickers: deliveries (receive), stock, spoiled ones (spoil).
    Holograms(cmd::holograms::HologramsArgs),
    /// A card handed back (return): kept in the register, marked.
    Card(cmd::holograms::CardArgs),
    /// Record a yearly hologram on a card, or on a whole class.
    Hologram(cmd::holograms::HologramArgs),
    /// Write the issuance register as CSV.
    Register(cmd::orders::RegisterArgs),
    /// Reports as PDF or CSV: the register, a batch's protocol, a class's handover list.
    Report(cmd::report::ReportArgs),
    /// A checked copy of the register while the station prints (the daily
    /// timer's job), encrypted to `[backup] recipient` when set.
    Backup(cmd::backup::BackupArgs),
    /// Put a backup in place of the station's database (the station stopped).
    Restore(cmd::backup::RestoreArgs),
    /// The database: `check` its integrity and accounting.
    Db(cmd::backup::DbArgs),
    /// Accounts of the web page and the API: add, list, disable, enable,
    /// passwd, token, tokens.
    User(cmd::user::UserArgs),
    /// Print a sample card.order (Polish names, a real photo) as JSON.
    SampleOrder {
        /// Which of the sample students.
        #[arg(long, default_value_t = 0)]
        index: usize,
    },
}

fn main() -> anyhow::Result<()> {
    // glibc gives every thread that allocates its own arena (up to 8 per
    // core), and an arena keeps what it freed: a September burst, checked
    // on the blocking pool, left 100 MB resident for 24 MiB of messages in
    // hand. Two arenas: 86 MB; with the byte budgets in `mqtt`, under 80 MB.
    // Set before the runtime starts any thread.
    // SAFETY: mallopt only changes allocator parameters; no thread exists yet.
    unsafe {
        nix::libc::mallopt(nix::libc::M_ARENA_MAX, 2);
    }
    // Everything the station and its commands write (the database, reports,
    // exports, proofs, rendered cards, the demo's and the simulator's
    // pictures) may carry children's photos, names and PESELs: readable by
    // the user who made it only, whatever the shell's umask (0644 under
    // `sudo -u legitka`).
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let cli = Cli::parse();
    cmd::init_logging();
    let rt = tokio::runtime::Runtime::new()?;
    let result = rt.block_on(async {
        match cli.command {
            Command::Daemon(a) => cmd::daemon::run(a).await,
            Command::Demo(a) => cmd::demo::run(a).await,
            Command::Render(a) => cmd::render::run(a),
            Command::Proof(a) => cmd::proof::run(a).await,
            Command::Templates(a) => cmd::templates::run(a),
            Command::Orders(a) => cmd::orders::list(a).await,
            Command::Release(a) => cmd::orders::release(a).await,
            Command::Confirm(a) => cmd::orders::confirm(a).await,
            Command::Discard(a) => cmd::orders::discard(a).await,
            Command::Printers(a) => {
                tokio::task::spawn_blocking(move || cmd::printers::run(a)).await?
            }
            Command::Register(a) => cmd::orders::register(a).await,
            Command::Batch(a) => cmd::batch::run(a).await,
            Command::Report(a) => cmd::report::run(a).await,
            Command::Blanks(a) => cmd::blanks::run(a).await,
            Command::Holograms(a) => cmd::holograms::holograms(a).await,
            Command::Hologram(a) => cmd::holograms::hologram(a).await,
            Command::Card(a) => cmd::holograms::card(a).await,
            Command::User(a) => cmd::user::run(a).await,
            Command::Backup(a) => cmd::backup::backup(a).await,
            Command::Restore(a) => cmd::backup::restore(a).await,
            Command::Db(a) => cmd::backup::db(a).await,
            Command::SampleOrder { index } => {
                println!("{:#}", legitka::card::sample::order(index));
                Ok(())
            }
        }
    });
    // A blocking task still waiting on a printer that does not answer must
    // not keep a stopped station alive.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    result
}
