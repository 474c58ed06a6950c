/**
 * `impgate completion bash|zsh`: a static completion script generated from the command
 * tree, so it always matches the commands and options this version has. Words complete
 * to subcommands, `-…` to the options of the command typed so far, and the value of
 * --profile to the saved profiles; anything else falls back to file names.
 */
import type { Command } from "commander";

interface Node {
  path: string;
  subcommands: { name: string; about: string }[];
  options: { flag: string; about: string }[];
}

function nodes(cmd: Command, path = ""): Node[] {
  const visible = cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  const options = cmd.options
    .filter((o) => !o.hidden)
    .flatMap((o) => [o.long, o.short].filter((f): f is string => !!f).map((flag) => ({ flag, about: o.description })));
  options.push({ flag: "--help", about: "show help" });
  const here: Node = { path, subcommands: visible.map((c) => ({ name: c.name(), about: c.description() })), options };
  return [here, ...visible.flatMap((c) => nodes(c, path ? `${path} ${c.name()}` : c.name()))];
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, for the completion script
const PROFILES_DIR = '"${XDG_CONFIG_HOME:-$HOME/.config}/impgate/profiles"';

/** Names and flags have no shell metacharacters; a zsh description is single-quoted. */
const words = (list: string[]) => list.join(" ");
const zshItem = (name: string, about: string) => `'${name}:${about.replace(/'/g, "'\\''")}'`;

export function bashCompletion(program: Command): string {
  const all = nodes(program);
  const cases = (pick: (n: Node) => string[]) => all.map((n) => `    "${n.path}") echo "${words(pick(n))}" ;;`).join("\n");
  return `# impgate completion for bash: source it, or save it to ~/.local/share/bash-completion/completions/impgate
_impgate_subcommands() {
  case "$1" in
${cases((n) => n.subcommands.map((s) => s.name))}
  esac
}
_impgate_options() {
  case "$1" in
${cases((n) => n.options.map((o) => o.flag))}
  esac
}
_impgate() {
  local cur prev cmdpath="" word i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case " $(_impgate_subcommands "$cmdpath") " in
      *" $word "*) cmdpath="\${cmdpath:+$cmdpath }$word" ;;
    esac
  done
  if [[ "$prev" == "--profile" ]]; then
    COMPREPLY=($(compgen -W "$(ls ${PROFILES_DIR} 2>/dev/null)" -- "$cur"))
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_impgate_options "$cmdpath")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_impgate_subcommands "$cmdpath")" -- "$cur"))
  fi
}
complete -o default -F _impgate impgate
`;
}

export function zshCompletion(program: Command): string {
  const all = nodes(program);
  const cases = (pick: (n: Node) => string[]) =>
    all
      .filter((n) => pick(n).length)
      .map((n) => `    "${n.path}") reply=(${pick(n).join(" ")}) ;;`)
      .join("\n");
  return `#compdef impgate
# impgate completion for zsh: save it as _impgate in a folder on $fpath, or source it after compinit
_impgate_subcommands() {
  case "$1" in
${cases((n) => n.subcommands.map((s) => zshItem(s.name, s.about)))}
    *) reply=() ;;
  esac
}
_impgate_options() {
  case "$1" in
${cases((n) => n.options.map((o) => zshItem(o.flag, o.about)))}
    *) reply=() ;;
  esac
}
_impgate() {
  local cmdpath="" word i
  local -a reply names profiles
  for ((i = 2; i < CURRENT; i++)); do
    word="\${words[i]}"
    _impgate_subcommands "$cmdpath"
    names=("\${reply[@]%%:*}")
    (( \${names[(Ie)$word]} )) && cmdpath="\${cmdpath:+$cmdpath }$word"
  done
  if [[ "\${words[CURRENT-1]}" == "--profile" ]]; then
    profiles=(${PROFILES_DIR}/*(N:t))
    compadd -a profiles
  elif [[ "$PREFIX" == -* ]]; then
    _impgate_options "$cmdpath"
    _describe -t options option reply
  else
    _impgate_subcommands "$cmdpath"
    if (( \${#reply} )); then _describe -t commands command reply; else _files; fi
  fi
}
if [[ "\${funcstack[1]}" == "_impgate" ]]; then _impgate "$@"; else compdef _impgate impgate; fi
`;
}
