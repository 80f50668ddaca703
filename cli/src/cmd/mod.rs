//! One module per command group; each turns its arguments into a request,
//! asks the node, and hands the typed answer to [`crate::output::emit`].

mod attachments;
mod backup;
mod calendar;
mod consortium;
mod handover;
mod history;
mod library;
mod node;
mod peers;
mod records;
mod staff;

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde::Serialize;

use r2com_protocol::control::{Request, Response};
use r2com_protocol::roster::Role;

use crate::args::{AttachmentCmd, Cli, Command, ConsortiumCmd, KeyCmd, PeerCmd};
use crate::output::{emit, Human};
use crate::render::Written;
use crate::{client, files, Outcome};

/// What every command needs: where the node lives and how to print.
pub struct Ctx {
    pub dir: PathBuf,
    pub json: bool,
}

impl Ctx {
    /// Ask the node and take the answer as the type it has.
    fn ask<T>(&self, request: Request) -> Result<T, crate::error::CliError>
    where
        T: TryFrom<Response, Error = Response>,
    {
        client::ask(&self.dir, request)
    }

    /// Print an answer (table or JSON).
    fn emit<T: Serialize + Human + ?Sized>(&self, v: &T) -> Outcome {
        Ok(emit(self.json, v)?)
    }

    /// An export: to standard output as the answer prints, or written to
    /// `out` (then `--json` reports the file written).
    fn export<T: Serialize + Human>(&self, out: Option<&Path>, answer: &T, file: &[u8]) -> Outcome {
        match out {
            None => self.emit(answer),
            Some(path) => {
                files::write_atomically(path, file)?;
                self.emit(&Written {
                    written: path.display().to_string(),
                    bytes: file.len() as u64,
                })
            }
        }
    }
}

/// Run the command the command line names.
pub fn run(cli: Cli) -> Outcome {
    let ctx = Ctx {
        dir: data_dir(cli.data_dir)?,
        json: cli.json,
    };
    match cli.command {
        Command::Init => node::init(&ctx),
        Command::Id => node::id(&ctx),
        Command::Key(KeyCmd::Rotate { token }) => node::rotate(&ctx, token),
        Command::Run {
            web_listen,
            feed_listen,
            listen,
            no_mdns,
            metrics_listen,
        } => node::run(
            &ctx,
            feed_listen,
            r2com_node::run::NetOptions {
                listen,
                no_mdns,
                web_listen,
                metrics_listen,
            },
        ),
        Command::Status => node::status(&ctx),
        Command::Import { file } => library::import(&ctx, &file),
        Command::Export { out } => library::export(&ctx, out.as_deref()),
        Command::DemoData {
            practices,
            events,
            seed,
            out,
        } => library::demo_data(&ctx, practices, events, seed, out.as_deref()),
        Command::Search { text, limit } => library::search(&ctx, text.join(" "), limit),
        Command::Verify { backup: None } => library::verify(&ctx),
        Command::Verify { backup: Some(file) } => backup::verify(&ctx, &file),
        Command::Backup { out, without_files } => backup::backup(&ctx, &out, without_files),
        Command::Restore { file } => backup::restore(&ctx, &file),
        Command::History { id, diff } => history::history(&ctx, id, diff),
        Command::Log { since, org, limit } => history::log(&ctx, since, org, limit),
        Command::Conflicts => history::conflicts(&ctx),
        Command::Erase { id, reason } => history::erase(&ctx, id, reason),
        Command::Resolve {
            id,
            field,
            keep,
            value,
        } => history::resolve(&ctx, id, field, keep, value),
        Command::Practice(cmd) => records::practice(&ctx, cmd),
        Command::Event(cmd) => records::event(&ctx, cmd),
        Command::Calendar(cmd) => calendar::run(&ctx, cmd),
        Command::Consortium(ConsortiumCmd::Create {
            name,
            org,
            org_name,
            country,
        }) => consortium::create(&ctx, name, org, org_name, country),
        Command::Invite(a) => consortium::invite(&ctx, a),
        Command::Join { token } => consortium::join(&ctx, token),
        Command::Members => consortium::members(&ctx),
        Command::Revoke { target, reason } => consortium::revoke(&ctx, target, reason),
        Command::Withdraw { invite } => consortium::withdraw(&ctx, invite),
        Command::Promote { org } => consortium::set_role(&ctx, org, Role::Admin),
        Command::Demote { org } => consortium::set_role(&ctx, org, Role::Member),
        Command::Roster(cmd) => handover::roster(&ctx, cmd),
        Command::Changes(cmd) => handover::changes(&ctx, cmd),
        Command::Peer(PeerCmd::Add { addr }) => peers::add(&ctx, addr),
        Command::User(cmd) => staff::user(&ctx, cmd),
        Command::Web(cmd) => staff::web(&ctx, cmd),
        Command::Peers => peers::list(&ctx),
        Command::Sync { peer } => peers::sync(&ctx, peer),
        Command::Attach {
            id,
            file,
            title,
            language,
        } => attachments::attach(&ctx, id, &file, title, language),
        Command::Detach { id, hash } => attachments::detach(&ctx, id, hash),
        Command::Attachment(AttachmentCmd::List { missing }) => attachments::list(&ctx, missing),
        Command::Attachment(AttachmentCmd::Get { hash, out }) => attachments::get(&ctx, hash, &out),
    }
}

fn data_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(d) => Ok(d),
        None => dirs::data_dir()
            .map(|d| d.join("r2com"))
            .ok_or_else(|| anyhow!("no data directory: give --data-dir or set R2COM_DATA_DIR")),
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal
/// (`template` in indicatif's syntax); stdout stays the answer's alone.
fn progress_bar(template: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    let bar = indicatif::ProgressBar::new(0);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(indicatif::ProgressStyle::with_template(template).expect("template"));
    bar
}
