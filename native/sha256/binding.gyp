{
  "targets": [
    {
      "target_name": "cityledger_sha256",
      "sources": ["sha256.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror", "-Wno-deprecated-declarations"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O2", "-Wno-deprecated-declarations"] }
    }
  ]
}
