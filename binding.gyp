{
  "targets": [
    {
      "target_name": "ocirun",
      "sources": [
        "native/src/binding.cc",
        "native/src/cgroup.cc",
        "native/src/child_watch.cc",
        "native/src/copy_tree.cc",
        "native/src/spawn.cc",
        "native/src/subreaper.cc",
        "native/src/child.cc",
        "native/src/namespaces.cc",
        "native/src/netdev.cc",
        "native/src/hooks.cc",
        "native/src/idmap.cc",
        "native/src/off_thread.cc",
        "native/src/json.cc",
        "native/src/ops.cc",
        "native/src/oom_watch.cc",
        "native/src/plan_reader.cc",
        "native/src/writable_wait.cc",
        "native/src/procfs.cc",
        "native/src/rootfs.cc",
        "native/src/safe_path.cc",
        "native/src/state_dir.cc",
        "native/src/terminal.cc",
        "native/src/unix_socket.cc",
        "native/src/vfork_clone.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]
    },
    {
      "target_name": "ocirun-init",
      "type": "none",
      "actions": [
        {
          "action_name": "build-init",
          "inputs": [
            "native/src/init/main.cc",
            "native/src/init/control.cc",
            "native/src/init/process.cc",
            "native/src/init/privileges.cc",
            "native/src/init/hooks.cc",
            "native/src/hooks.cc",
            "native/src/procfs.cc",
            "<!@(ls native/src/*.h native/src/init/*.h)",
            "scripts/build-static.sh"
          ],
          "outputs": ["<(PRODUCT_DIR)/ocirun-init"],
          "action": ["sh", "scripts/build-static.sh", "<(PRODUCT_DIR)/ocirun-init", "<@(_inputs)"]
        }
      ]
    },
    {
      "target_name": "ocirun-launch",
      "type": "none",
      "actions": [
        {
          "action_name": "build-launcher",
          "inputs": [
            "native/src/launcher/main.cc",
            "native/src/launcher/shim_binary.cc",
            "native/src/launcher/shim_start.cc",
            "native/src/launcher/shim_delete.cc",
            "native/src/launcher/sandbox_id.cc",
            "native/src/launcher/sha256.cc",
            "<!@(ls native/src/*.h native/src/launcher/*.h)",
            "scripts/build-static.sh"
          ],
          "outputs": ["<(PRODUCT_DIR)/ocirun-launch"],
          "action": ["sh", "scripts/build-static.sh", "<(PRODUCT_DIR)/ocirun-launch", "<@(_inputs)"]
        }
      ]
    }
  ]
}
