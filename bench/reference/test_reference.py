"""Self-checks for bench/reference/xlm.py and tools/convert-xlm-checkpoint.py.

Run: python bench/reference/test_reference.py   (prints "N passed, M failed"; exit 1 on failure)
Covers: incremental decoding == full causal forward, cache reorder, padding invariance,
safetensors save/load (tied weights), the xlm.py CLI, and XLM checkpoint conversion
(trainer + MLM formats, `module.` prefix, sinusoidal) round-tripping bit-identically.
"""
import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import traceback

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import xlm  # noqa: E402

_spec = importlib.util.spec_from_file_location("convert_xlm", os.path.join(ROOT, "tools", "convert-xlm-checkpoint.py"))
conv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conv)

BASE = {"vocabSize": 40, "embDim": 16, "nHeads": 4, "encoderLayers": 2, "decoderLayers": 3}
CONFIGS = [
    {**BASE},
    {**BASE, "activation": "relu", "nLangs": 3, "sinusoidalEmbeddings": True, "maxPositions": 64},
]
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def perturbed_model(config, seed=0):
    """Random init plus noise on everything (LayerNorms, biases, pad row) so checks are not trivial."""
    model = xlm.init_model(config, seed)
    with torch.no_grad():
        for p in model.parameters():  # tied weights appear once
            p.add_(0.2 * torch.randn_like(p))
    return model.eval()


def langs_for(config):
    return (1, 2) if config["nLangs"] > 1 else (None, None)


def sample_batch(config, seed=0):
    g = torch.Generator().manual_seed(seed)
    return xlm.random_batch(config, 4, 7, g)


def close(a, b, tol=1e-5):
    return (a - b).abs().max().item() <= tol


@test
def incremental_decoding_matches_full_forward():
    for cfg in CONFIGS:
        model = perturbed_model(cfg)
        b = sample_batch(model.config)
        sl, tl = langs_for(model.config)
        out = xlm.run_forward(model, b, sl, tl)
        mask = xlm.length_mask(b["tgt_len"], b["tgt_in"].shape[1])
        full = torch.log_softmax(out["logits"], -1)
        assert close(full[mask], out["step_logprobs"][mask]), (full[mask] - out["step_logprobs"][mask]).abs().max()
        assert out["step_logprobs"].dtype == torch.float32


def functional_forward(sd, c, b, src_lang, tgt_lang):
    """Independent restatement of the spec from the raw state dict (SDPA, functional ops)."""
    import math
    import torch.nn.functional as F
    D, H = c["embDim"], c["nHeads"]
    act = (lambda x: F.gelu(x)) if c["activation"] == "gelu" else F.relu

    def lin(p, x):
        return F.linear(x, sd[p + ".weight"], sd[p + ".bias"])

    def ln(p, x):
        return F.layer_norm(x, (D,), sd[p + ".weight"], sd[p + ".bias"], eps=1e-12)

    def mha(p, x, kv, attn_mask):
        B, Q, K = x.shape[0], x.shape[1], kv.shape[1]
        q, k, v = (lin(f"{p}.{n}_lin", y).view(B, -1, H, D // H).transpose(1, 2) for n, y in (("q", x), ("k", kv), ("v", kv)))
        bias = torch.zeros(attn_mask.shape).masked_fill(~attn_mask, float("-inf"))
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1 / math.sqrt(D // H))
        return lin(f"{p}.out_lin", o.transpose(1, 2).reshape(B, Q, D))

    def stack(side, ids, lens, lang, n_layers, self_mask, enc=None, src_mask=None):
        B, T = ids.shape
        pos = xlm.sinusoidal_table(c["maxPositions"], D)[:T] if c["sinusoidalEmbeddings"] else sd[f"{side}.position_embeddings.weight"][:T]
        x = sd[f"{side}.embeddings.weight"][ids] + pos
        if lang is not None:
            x = x + sd[f"{side}.lang_embeddings.weight"][lang]
        keep = (torch.arange(T)[None] < lens[:, None]).float()[..., None]
        x = ln(f"{side}.layer_norm_emb", x) * keep
        for i in range(n_layers):
            x = ln(f"{side}.layer_norm1.{i}", x + mha(f"{side}.attentions.{i}", x, x, self_mask))
            if enc is not None:
                x = ln(f"{side}.layer_norm15.{i}", x + mha(f"{side}.encoder_attn.{i}", x, enc, src_mask))
            x = ln(f"{side}.layer_norm2.{i}", x + lin(f"{side}.ffns.{i}.lin2", act(lin(f"{side}.ffns.{i}.lin1", x))))
            x = x * keep
        return x

    S, T = b["src"].shape[1], b["tgt_in"].shape[1]
    smask = (torch.arange(S)[None] < b["src_len"][:, None])[:, None, None, :]
    enc = stack("encoder", b["src"], b["src_len"], src_lang, c["encoderLayers"], smask)
    causal = torch.ones(T, T, dtype=torch.bool).tril()[None, None]
    dec = stack("decoder", b["tgt_in"], b["tgt_len"], tgt_lang, c["decoderLayers"], causal, enc, smask)
    return enc, dec @ sd["decoder.embeddings.weight"].T + sd["decoder.pred_layer.proj.bias"]


@test
def matches_independent_functional_formulation():
    for cfg in CONFIGS:
        model = perturbed_model(cfg, seed=4)
        b = sample_batch(model.config, seed=4)
        sl, tl = langs_for(model.config)
        out = xlm.run_forward(model, b, sl, tl)
        with torch.no_grad():
            enc, logits = functional_forward(model.state_dict(), model.config, b, sl, tl)
        assert close(enc, out["encoder_out"]) and close(logits, out["logits"]), (logits - out["logits"]).abs().max()


@test
def cache_reorder_follows_batch_permutation():
    for cfg in CONFIGS:
        model = perturbed_model(cfg, seed=1)
        b = sample_batch(model.config, seed=1)
        sl, tl = langs_for(model.config)
        ref = xlm.run_forward(model, b, sl, tl)["step_logprobs"]
        perm = torch.tensor([2, 0, 3, 1])
        with torch.no_grad():
            enc = model.encode(b["src"], b["src_len"], sl)
            smask = xlm.length_mask(b["src_len"], b["src"].shape[1])
            cache, T = {}, b["tgt_in"].shape[1]
            for t in range(T):
                if t == 2:
                    xlm.XLMSeq2Seq.reorder(cache, perm)
                    enc, smask = enc[perm], smask[perm]
                rows = perm if t >= 2 else torch.arange(4)
                lp = model.decode_step(b["tgt_in"][rows, t], cache, enc, smask, t, tl)
                valid = t < b["tgt_len"][rows]
                assert close(lp[valid], ref[rows, t][valid])


@test
def padded_rows_equal_single_sentences():
    for cfg in CONFIGS:
        model = perturbed_model(cfg, seed=2)
        g = torch.Generator().manual_seed(5)
        src = [torch.randint(4, 40, (n,), generator=g).tolist() for n in (1, 6, 3)]
        tgt = [torch.randint(4, 40, (n,), generator=g).tolist() for n in (5, 1, 3)]
        sl, tl = langs_for(model.config)
        big = xlm.run_forward(model, xlm.make_batch(src, tgt, model.config), sl, tl)
        for i in range(3):
            one = xlm.run_forward(model, xlm.make_batch([src[i]], [tgt[i]], model.config), sl, tl)
            S, T = len(src[i]) + 2, len(tgt[i]) + 1
            assert close(big["encoder_out"][i, :S], one["encoder_out"][0])
            assert close(big["logits"][i, :T], one["logits"][0])
            assert close(big["step_logprobs"][i, :T], one["step_logprobs"][0])
        b = xlm.make_batch(src, tgt, model.config)
        assert (big["encoder_out"][0, 3:] == 0).all()  # pads zeroed
        assert torch.equal(b["src"][0], torch.tensor([1, src[0][0], 1, 2, 2, 2, 2, 2]))
        assert torch.equal(b["tgt_in"][1], torch.tensor([1, tgt[1][0], 2, 2, 2, 2]))
        assert torch.equal(b["tgt_out"][1], torch.tensor([tgt[1][0], 1, 2, 2, 2, 2]))
        assert b["tgt_len"].tolist() == [6, 2, 4] and b["src_len"].tolist() == [3, 8, 5]


@test
def safetensors_roundtrip_and_tie_check():
    from safetensors.torch import save_file
    for cfg in CONFIGS:
        model = perturbed_model(cfg, seed=3)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.safetensors")
            xlm.save_safetensors(model, model.config, path)
            tensors, meta = xlm.read_safetensors(path)
            assert meta["model_type"] == "xlm-teacher" and json.loads(meta["config"]) == model.config
            assert ("encoder.position_embeddings.weight" in tensors) != cfg.get("sinusoidalEmbeddings", False)
            loaded, _ = xlm.load_safetensors(path)
            a, b = model.state_dict(), loaded.state_dict()
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
            assert loaded.decoder.pred_layer.proj.weight is loaded.decoder.embeddings.weight
            tensors["decoder.pred_layer.proj.weight"] = tensors["decoder.pred_layer.proj.weight"] + 1
            save_file(tensors, path, metadata=meta)
            try:
                xlm.load_safetensors(path)
                raise AssertionError("untied weights were accepted")
            except ValueError as e:
                assert "tied" in str(e)


@test
def cli_init_forward_train():
    py, script = sys.executable, os.path.join(HERE, "xlm.py")
    cfg = json.dumps({**BASE, "nLangs": 2})
    with tempfile.TemporaryDirectory() as d:
        j = lambda n: os.path.join(d, n)  # noqa: E731
        with open(j("b.json"), "w") as f:
            json.dump({"src": [[5, 6, 7], [8]], "tgt": [[9], [10, 11, 12]], "srcLang": 0, "tgtLang": 1}, f)
        for args in (["init", "--config", cfg, "--seed", "4", "--out", j("m.st")],
                     ["train-briefly", "--model", j("m.st"), "--steps", "3", "--seed", "1", "--out", j("t.st")],
                     ["forward", "--model", j("t.st"), "--batch", j("b.json"), "--out", j("o.st")]):
            subprocess.run([py, script, *args], check=True)
        from safetensors.torch import load_file
        o = load_file(j("o.st"))
        assert o["logits"].shape == (2, 4, 40) and o["step_logprobs"].shape == (2, 4, 40)
        assert o["encoder_out"].shape == (2, 5, 16) and o["tgt_len"].tolist() == [2, 4]
        m = xlm.length_mask(o["tgt_len"], 4)
        assert close(torch.log_softmax(o["logits"], -1)[m], o["step_logprobs"][m])
        init, _ = xlm.load_safetensors(j("m.st"))
        trained, _ = xlm.load_safetensors(j("t.st"))
        assert not torch.equal(init.encoder.ffns[0].lin1.weight, trained.encoder.ffns[0].lin1.weight)
        again = xlm.run_forward(trained, xlm.make_batch([[5, 6, 7], [8]], [[9], [10, 11, 12]], trained.config), 0, 1)
        assert all(torch.equal(again[k], o[k]) for k in again)  # deterministic


# ------------------------------------------------------------------ XLM checkpoints

def xlm_params(config, **over):
    c = config
    p = {"n_words": c["vocabSize"], "emb_dim": c["embDim"], "n_heads": c["nHeads"], "n_layers": c["encoderLayers"],
         "n_enc_layers": c["encoderLayers"], "n_dec_layers": c["decoderLayers"], "dropout": c["dropout"],
         "attention_dropout": c["attentionDropout"], "gelu_activation": c["activation"] == "gelu",
         "n_langs": c["nLangs"], "use_lang_emb": True, "pad_index": 2, "eos_index": 1, "unk_index": 3,
         "sinusoidal_embeddings": c["sinusoidalEmbeddings"], "share_inout_emb": True,
         "id2lang": {i: f"l{i}" for i in range(c["nLangs"])}, "lang2id": {f"l{i}": i for i in range(c["nLangs"])},
         "mt_steps": [["l0", "l1"]], "dump_path": "/x"}
    p.update(over)
    return p


def xlm_state_dict(module, config, prefix=""):
    """What XLM's module.state_dict() holds: tied entries share storage, sinusoidal table included."""
    sd = dict(module.state_dict())
    if config["sinusoidalEmbeddings"]:
        sd["position_embeddings.weight"] = xlm.sinusoidal_table(config["maxPositions"], config["embDim"]).clone()
    return {prefix + k: v for k, v in sd.items()}


def vocab_for(config):
    return ["<s>", "</s>", "<pad>", "<unk>"] + [f"w{i}@@" for i in range(config["vocabSize"] - 4)]


def convert(*argv):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = conv.main(list(argv))
    assert rc == 0, buf.getvalue()
    return buf.getvalue()


def strip(sd):
    return conv.strip_module(sd)


@test
def trainer_checkpoint_roundtrips_bit_identically():
    for cfg, prefix in ((CONFIGS[0], ""), (CONFIGS[0], "module."), (CONFIGS[1], "module.")):
        model = perturbed_model(cfg, seed=5)
        c = model.config
        ckpt = {"encoder": xlm_state_dict(model.encoder, c, prefix), "decoder": xlm_state_dict(model.decoder, c, prefix),
                "params": xlm_params(c), "dico_id2word": dict(enumerate(vocab_for(c))), "epoch": 3}
        with tempfile.TemporaryDirectory() as d:
            j = lambda n: os.path.join(d, n)  # noqa: E731
            torch.save(ckpt, j("in.pth"))
            convert(j("in.pth"), j("m.safetensors"))
            convert("--to-xlm", j("m.safetensors"), j("out.pth"), "--vocab", j("vocab.txt"))
            back = torch.load(j("out.pth"), weights_only=True)
            for side in ("encoder", "decoder"):
                a, b = strip(ckpt[side]), back[side]
                assert a.keys() == b.keys(), (side, a.keys() ^ b.keys())
                for k in a:
                    assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), (side, k)
            assert back["dico_id2word"] == ckpt["dico_id2word"]
            assert conv.read_vocab(j("vocab.txt")) == vocab_for(c)
            for k in ("n_heads", "emb_dim", "n_enc_layers", "n_dec_layers", "gelu_activation", "id2lang", "mt_steps"):
                assert back["params"][k] == ckpt["params"][k], k
            loaded, lcfg = xlm.load_safetensors(j("m.safetensors"))
            assert lcfg == c
            a, b = model.state_dict(), loaded.state_dict()
            assert all(torch.equal(a[k], b[k]) for k in a)
            meta = xlm.read_metadata(j("m.safetensors"))
            assert meta["source"] == "xlm-trainer" and json.loads(meta["langs"]) == [f"l{i}" for i in range(c["nLangs"])]


@test
def mlm_checkpoint_initialises_encoder_and_decoder():
    for cfg, prefix in ((CONFIGS[0], ""), (CONFIGS[1], "module.")):
        c = xlm.normalize_config({**cfg, "decoderLayers": cfg["encoderLayers"]})
        torch.manual_seed(11)
        mlm = xlm.TransformerModel(c, is_decoder=False)
        with torch.no_grad():
            for p in mlm.parameters():
                p.add_(0.2 * torch.randn_like(p))
        ckpt = {"model": xlm_state_dict(mlm, c, prefix), "params": xlm_params(c),
                "dico_id2word": dict(enumerate(vocab_for(c)))}
        src = strip(ckpt["model"])
        with tempfile.TemporaryDirectory() as d:
            j = lambda n: os.path.join(d, n)  # noqa: E731
            torch.save(ckpt, j("mlm.pth"))
            log = convert(j("mlm.pth"), j("m.safetensors"), "--vocab", j("v.txt"), "--seed", "7")
            assert "fresh init" in log and "encoder_attn" in log and "layer_norm15" in log, log
            tensors, meta = xlm.read_safetensors(j("m.safetensors"))
            assert meta["source"] == "xlm-mlm" and json.loads(meta["config"]) == c
            fresh = xlm.init_model(c, 7).state_dict()
            n_cross = 0
            for k, v in tensors.items():
                side, name = k.split(".", 1)
                if side == "decoder" and name.startswith(("encoder_attn.", "layer_norm15.")):
                    assert torch.equal(v, fresh[k]), k
                    n_cross += 1
                else:
                    assert torch.equal(v, src[name]), k
            assert n_cross == c["decoderLayers"] * 10
            assert not torch.equal(tensors["decoder.encoder_attn.0.q_lin.weight"], src["attentions.0.q_lin.weight"])
            xlm.load_safetensors(j("m.safetensors"))


@test
def converter_reports_bad_checkpoints():
    c = xlm.normalize_config(CONFIGS[0])
    model = perturbed_model(c, seed=6)

    def fails(ckpt, needle):
        try:
            conv.xlm_to_ours(ckpt)
        except conv.ConversionError as e:
            assert needle in str(e), (needle, str(e))
            return
        raise AssertionError(f"accepted a checkpoint that should fail with {needle!r}")

    good = lambda: {"encoder": xlm_state_dict(model.encoder, c), "decoder": xlm_state_dict(model.decoder, c),  # noqa: E731
                    "params": xlm_params(c)}
    ck = good(); del ck["decoder"]["ffns.1.lin2.bias"]; fails(ck, "missing ['ffns.1.lin2.bias']")  # noqa: E702
    ck = good(); ck["encoder"]["memories.0.keys"] = torch.zeros(1); fails(ck, "unexpected ['memories.0.keys']")  # noqa: E702
    ck = good(); ck["params"]["n_words"] = 41; fails(ck, "n_words=41")  # noqa: E702
    ck = good(); ck["decoder"]["ffns.0.lin1.weight"] = torch.zeros(8, 16); fails(ck, "shape (8, 16)")  # noqa: E702
    ck = good(); ck["encoder"]["pred_layer.proj.weight"] = torch.zeros(40, 16); fails(ck, "tied")  # noqa: E702
    ck = good(); del ck["params"]; fails(ck, "no 'params'")  # noqa: E702
    fails({"params": xlm_params(c), "weights": {}}, "need 'encoder'+'decoder' or 'model'")
    mlm = {"model": xlm_state_dict(model.encoder, c), "params": xlm_params(c)}
    del mlm["model"]["attentions.0.k_lin.bias"]
    fails(mlm, "missing ['attentions.0.k_lin.bias']")


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            passed += 1
            print(f"ok   {fn.__name__}")
        except Exception:  # noqa: BLE001
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
