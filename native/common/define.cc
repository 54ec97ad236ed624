// See define.h.
#include "common/define.h"

namespace xkt {

void define(Napi::Env env, Napi::Object target, const std::string& name, NativeBody body) {
  auto fn = Napi::Function::New(
      env,
      [name, body](const Napi::CallbackInfo& info) -> Napi::Value {
        Args args(info, name.c_str());
        try {
          return body(args);
        } catch (const Napi::Error&) {
          throw;
        } catch (const ArgError& e) {
          throw makeJsError(info.Env(), name, e.what(), "", e.kind == ArgError::Kind::Type,
                            e.kind == ArgError::Kind::Range);
        } catch (const c10::Error& e) {
          throw makeJsError(info.Env(), name, cleanTorchMessage(e.what_without_backtrace()), args.context());
        } catch (const std::exception& e) {
          throw makeJsError(info.Env(), name, cleanTorchMessage(e.what()), args.context());
        } catch (...) {
          throw makeJsError(info.Env(), name, "unknown native error", args.context());
        }
      },
      name);
  target.Set(name, fn);
}

}  // namespace xkt
