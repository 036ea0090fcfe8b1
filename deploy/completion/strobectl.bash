# bash completion for strobectl (install as /usr/share/bash-completion/completions/strobectl,
# or source it). The commands are those of `strobectl --help`; tests/integration/deploy_test.py
# checks that every one of them completes.

# COMPREPLY = the words of $1 (one per line) that start with $2; no pathname expansion, so
# "*" (clear bgp neighbor *) stays a word.
_strobectl_words() {
  local IFS=$'\n'
  mapfile -t COMPREPLY < <(compgen -W "$1" -- "$2")
}

_strobectl() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=""
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()

  # The value of a flag given as a separate word.
  case $prev in
    --config | -config)
      COMPREPLY=($(compgen -f -- "$cur"))
      compopt -o filenames 2>/dev/null
      return 0
      ;;
    --socket | -socket)
      COMPREPLY=($(compgen -f -- "$cur"))
      compopt -o filenames 2>/dev/null
      return 0
      ;;
    --timeout_ms | -timeout_ms | --interval_ms | -interval_ms)
      return 0
      ;;
  esac

  # The words of the command so far, flags and their values left out.
  local -a args=()
  local i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in
      --config | -config | --socket | -socket | --timeout_ms | -timeout_ms | --interval_ms | \
        -interval_ms)
        ((i++))
        ;;
      -*) ;;
      *) args+=("$w") ;;
    esac
  done

  if [[ $cur == -* ]]; then
    _strobectl_words $'--config\n--socket\n--json\n--timeout_ms\n--interval_ms\n--help' "$cur"
    return 0
  fi

  local n=${#args[@]}
  local cmd="${args[*]:0:3}"
  local interfaces
  interfaces=$(ls /sys/class/net 2>/dev/null)

  if ((n == 0)); then
    _strobectl_words $'show\nset\nclear\nconfig' "$cur"
    return 0
  fi
  case ${args[0]} in
    show)
      if ((n == 1)); then
        _strobectl_words $'bfd\nbgp\nfib\nversion\nworkers' "$cur"
        return 0
      fi
      case ${args[1]} in
        bfd)
          if ((n == 2)); then
            _strobectl_words $'sessions\nsession\ncounters' "$cur"
            return 0
          fi
          case ${args[2]} in
            sessions)
              # [state STATE] [interface IF] [peer ADDR]
              case $prev in
                state) _strobectl_words $'admin-down\ndown\ninit\nup' "$cur" ;;
                interface) _strobectl_words "$interfaces" "$cur" ;;
                peer) ;;
                *) _strobectl_words $'state\ninterface\npeer' "$cur" ;;
              esac
              ;;
            session)
              # PEER [local ADDR] [interface IF] [multihop]
              ((n == 3)) && return 0
              case $prev in
                local) ;;
                interface) _strobectl_words "$interfaces" "$cur" ;;
                *) _strobectl_words $'local\ninterface\nmultihop' "$cur" ;;
              esac
              ;;
          esac
          ;;
        bgp)
          if ((n == 2)); then
            _strobectl_words $'summary\nneighbors\nroutes' "$cur"
          fi
          ;;
        fib)
          ((n == 2)) && _strobectl_words 'summary' "$cur"
          ;;
      esac
      ;;
    set)
      # set bfd session PEER admin-down|up
      case $n in
        1) _strobectl_words 'bfd' "$cur" ;;
        2) [[ ${args[1]} == bfd ]] && _strobectl_words 'session' "$cur" ;;
        4) [[ $cmd == "set bfd session" ]] && _strobectl_words $'admin-down\nup' "$cur" ;;
      esac
      ;;
    config)
      # config check FILE | config reload
      case $n in
        1) _strobectl_words $'check\nreload' "$cur" ;;
        2)
          if [[ ${args[1]} == check ]]; then
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
          fi
          ;;
      esac
      ;;
    clear)
      # clear bgp neighbor ADDR|* [soft in|out]
      case $n in
        1) _strobectl_words 'bgp' "$cur" ;;
        2) [[ ${args[1]} == bgp ]] && _strobectl_words 'neighbor' "$cur" ;;
        3) [[ $cmd == "clear bgp neighbor" ]] && _strobectl_words '*' "$cur" ;;
        4) [[ $cmd == "clear bgp neighbor" ]] && _strobectl_words 'soft' "$cur" ;;
        5) [[ ${args[4]} == soft ]] && _strobectl_words $'in\nout' "$cur" ;;
      esac
      ;;
  esac
  return 0
}

complete -F _strobectl strobectl
