// The one include of node-addon-api, so that every translation unit and both builds see the same Node-API.
// The cmake-js build compiles against node-api-headers, the node-gyp build against Node's own headers, which
// under NAPI_EXPERIMENTAL make the basic env const and define NODE_API_EXPERIMENTAL_HAS_POST_FINALIZER. With
// that macro node-addon-api defers each wrap's napi_delete_reference until the event loop turns, so a
// synchronous loop piled up one reference per forgotten wrapper (+22 MB for 100k tensors). Opting out of both
// gives the node-gyp build node-api-headers' behaviour: the reference goes in the GC pass itself, which Node
// allows for this basic call.
#pragma once
#ifndef NODE_API_EXPERIMENTAL_BASIC_ENV_OPT_OUT
#define NODE_API_EXPERIMENTAL_BASIC_ENV_OPT_OUT
#endif
#include <js_native_api.h>
#undef NODE_API_EXPERIMENTAL_HAS_POST_FINALIZER
#include <napi.h>
