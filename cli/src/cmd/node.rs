//! `init`, `id`, `run`, `status`.

use std::io::IsTerminal;

use anyhow::Context;

use r2com_protocol::control::{Request, Status};

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

pub fn run(
    ctx: &Ctx,
    web_listen: Option<String>,
    feed_listen: Option<String>,
    listen: Vec<String>,
    no_mdns: bool,
) -> Outcome {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let rt = tokio::runtime::Runtime::new().context("starting the runtime")?;
    rt.block_on(r2com_node::run::run(
        &ctx.dir,
        feed_listen.as_deref(),
        r2com_node::run::NetOptions {
            listen,
            no_mdns,
            web_listen,
        },
    ))
    .map_err(anyhow::Error::new)?;
    Ok(())
}

pub fn status(ctx: &Ctx) -> Outcome {
    let status: Status = ctx.ask(Request::Status)?;
    ctx.emit(&status)
}
