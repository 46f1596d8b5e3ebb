#!/usr/bin/env bash
# Install the Debian/Ubuntu packages the desk and its tests need, when we can (root + apt);
# otherwise stop and print the exact command that would do it.
set -euo pipefail

packages=(
    # Qt's xcb/offscreen platforms, OpenGL, fonts (with CJK: the content is Chinese), D-Bus
    libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
    libxcb-shape0 libxcb-xkb1 libxcb-randr0 libxcb-xinerama0 libxcb-xfixes0 fonts-noto-cjk
    # audio: QtMultimedia's PulseAudio client, ffmpeg behind pydub; test speech and tones
    libpulse0 ffmpeg espeak-ng sox
    # libopus decodes stored recordings for their waveform; libogg muxes pages in its tests
    libopus0 libogg0
    # a virtual screen for looking at the window, and a real Secret Service for keyring tests
    xvfb gnome-keyring dbus-daemon libsecret-tools
)
if [ "${1:-}" = "--test" ]; then
    # `make test`: a private PulseAudio server with a virtual microphone for the tests of the
    # desk's own call recording (pactl and pacat drive it). Not where PipeWire's pulse
    # server is installed: pulseaudio would replace the desktop's sound server, so those
    # tests skip there and say why.
    if dpkg-query -W -f='${Status}' pipewire-pulse 2>/dev/null | grep -q "install ok installed"; then
        echo "system-deps: pipewire-pulse is installed; not adding pulseaudio (the desk" \
            "recording tests will skip)" >&2
    else
        packages+=(pulseaudio pulseaudio-utils)
    fi
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)
fi

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: this is not a Debian/Ubuntu machine; install the equivalents of:" >&2
    echo "  ${missing[*]}" >&2
    exit 1
fi
if [ "$(id -u)" != 0 ]; then
    echo "system-deps: these system packages are missing. Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
