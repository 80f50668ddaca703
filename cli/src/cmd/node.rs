//! `init`, `id`, `run`, `status`.

use std::io::IsTerminal;

use anyhow::Context;

use r2com_node::run::Stopped;
use r2com_protocol::control::{KeyRotated, Request, Status};

use super::Ctx;
use crate::render::{Identity, Initialised};
use crate::Outcome;

pub fn init(ctx: &Ctx) -> Outcome {
    let (key, created) = r2com_node::identity::init(&ctx.dir).context("creating the node key")?;
    ctx.emit(&Initialised {
        public_key: key.public().to_hex(),
        peer_id: r2com_node::identity::peer_id(&key),
        data_dir: ctx.dir.display().to_string(),
        created,
    })
}

pub fn id(ctx: &Ctx) -> Outcome {
    let key = r2com_node::identity::load(&ctx.dir).map_err(anyhow::Error::new)?;
    ctx.emit(&Identity {
        public_key: key.public().to_hex(),
        peer_id: r2com_node::identity::peer_id(&key),
    })
}

pub fn run(ctx: &Ctx, feed_listen: Option<String>, net: r2com_node::run::NetOptions) -> Outcome {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let rt = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let stopped = rt
        .block_on(r2com_node::run::run(
            &ctx.dir,
            feed_listen.as_deref(),
            net.clone(),
        ))
        .map_err(anyhow::Error::new)?;
    match stopped {
        Stopped::Signal => Ok(()),
        Stopped::Restart { listen } => {
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
            restart(ctx, feed_listen, net, &listen)
        }
    }
}

/// Start again under the rotated key: the same binary, the same process
/// (so a service manager sees no exit), on the addresses bound before.
fn restart(
    ctx: &Ctx,
    feed_listen: Option<String>,
    net: r2com_node::run::NetOptions,
    listen: &[String],
) -> Outcome {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().context("finding the r2com binary to restart")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--data-dir").arg(&ctx.dir);
    if ctx.json {
        cmd.arg("--json");
    }
    cmd.arg("run");
    if let Some(w) = net.web_listen {
        cmd.arg("--web-listen").arg(w);
    }
    if let Some(m) = net.metrics_listen {
        cmd.arg("--metrics-listen").arg(m);
    }
    if let Some(f) = feed_listen {
        cmd.arg("--feed-listen").arg(f);
    }
    for l in listen {
        cmd.arg("--listen").arg(l);
    }
    if net.no_mdns {
        cmd.arg("--no-mdns");
    }
    let e = cmd.exec();
    Err(anyhow::Error::new(e)
        .context("restarting under the rotated key (start `r2com run` again)")
        .into())
}

/// `key rotate`: the node does the work; this says what to expect.
pub fn rotate(ctx: &Ctx, token: Option<String>) -> Outcome {
    if !ctx.json && std::io::stderr().is_terminal() {
        eprintln!("rotating the node key (a connected member must confirm; up to 60 s)...");
    }
    let rotated: KeyRotated = ctx.ask(Request::KeyRotate { token })?;
    ctx.emit(&rotated)
}

pub fn status(ctx: &Ctx) -> Outcome {
    let status: Status = ctx.ask(Request::Status)?;
    ctx.emit(&status)
}
