/** What every benchmark device answers, whichever relay it sits behind. */
export const BENCH_REPLY = {
  status: 200,
  headers: [["content-type", "text/plain"]] as [string, string][],
  body: "ok",
};
