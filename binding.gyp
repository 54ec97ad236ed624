# The node-gyp build (what prebuildify and node-gyp-build's fallback run). Same sources and LibTorch as
# CMakeLists.txt, found by scripts/libtorch.js; CUDA kernels (.cu) are built only by the cmake-js path.
# No rpath: the loader (lib/native/load.ts) finds LibTorch at run time and loads its libraries first.
{
  "targets": [
    {
      "target_name": "xlm_kd_torch",
      "sources": ["<!@(node scripts/libtorch.js sources)", "third_party/mimalloc/src/static.c"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "third_party/mimalloc/include",
        "third_party/gloo",
        "<!@(node scripts/libtorch.js include)"
      ],
      "defines": [
        "NAPI_EXPERIMENTAL",
        "NAPI_VERSION=2147483647",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "MI_DEBUG=0",
        "USE_DISTRIBUTED",
        "USE_C10D_GLOO",
        "_GLIBCXX_USE_CXX11_ABI=<!(node scripts/libtorch.js cxx11abi)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++1y", "-std=gnu++14"],
      "cflags_c": ["-O2", "-fvisibility=hidden", "-DNDEBUG"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-fopenmp"],
      "ldflags": ["-fopenmp"],
      "libraries": [
        "-L<!(node scripts/libtorch.js lib)",
        "-Wl,--no-as-needed",
        "-lsentencepiece",
        "-lsentencepiece_train",
        "<!@(node scripts/libtorch.js libs)"
      ]
    }
  ]
}
