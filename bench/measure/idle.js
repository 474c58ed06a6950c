// A Node process that does nothing: the baseline the daemon's memory is compared with.
setInterval(() => {}, 60_000);
