// Files imported as text: wrangler's, the vitest plugin's and Miniflare's default module rule for `**/*.txt`.
declare module "*.txt" {
  const text: string;
  export default text;
}
