// The tests drive Linux things (dockerd, setpriv, unix file modes, the static ELF binary): Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
