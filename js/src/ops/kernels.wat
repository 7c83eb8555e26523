;; The runtime's WebAssembly kernels (js/src/ops/wasm.js runs them; js/tools/build_wasm.mjs
;; assembles this file into kernels_wasm.js, and test/wasm.test.js checks the two agree).
;;
;; Why WebAssembly: V8 compiles a module's functions with its baseline compiler (Liftoff) before
;; they first run, where JavaScript loops run interpreted until V8 has seen them hot -- the first
;; call of a cold process spent most of its time there. And 128-bit SIMD (f32x4) does four
;; multiply-adds per instruction.
;;
;; All addresses are byte offsets into the exported memory; arrays are float32, row-major.
;; Sums are carried in float32 lanes (as BLAS sgemm, the NumPy runtime's products), each
;; product rounded to float32 and added in k order.
(module
  (memory (export "memory") 1)

  ;; out[M, N] (+)= a[M, K] @ b[K, N]; acc != 0 adds the products to out's values.
  ;; Rows four at a time (blocks of 4 x 8: eight f32x4 sums, each b vector loaded once for
  ;; four rows), the rest one row at a time.
  (func $gemm (export "gemm") (param $a i32) (param $b i32) (param $out i32)
        (param $M i32) (param $K i32) (param $N i32) (param $acc i32)
    (local $i i32) (local $K4 i32) (local $N4 i32) (local $r i32) (local $j i32)
    (local.set $K4 (i32.shl (local.get $K) (i32.const 2)))
    (local.set $N4 (i32.shl (local.get $N) (i32.const 2)))
    (block $rows4_done
      (loop $rows4
        (br_if $rows4_done (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $M)))
        (local.set $j
          (call $block4 (local.get $a) (local.get $b) (local.get $out)
                        (local.get $K) (local.get $N) (local.get $acc)))
        ;; the columns past the last block of 8, row by row
        (local.set $r (i32.const 0))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_s (local.get $j) (local.get $N)))
            (br_if $tail_done (i32.ge_s (local.get $r) (i32.const 4)))
            (call $row
              (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $K4)))
              (local.get $b)
              (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $N4)))
              (local.get $K) (local.get $N) (local.get $j) (local.get $acc))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $tail)))
        (local.set $a (i32.add (local.get $a) (i32.shl (local.get $K4) (i32.const 2))))
        (local.set $out (i32.add (local.get $out) (i32.shl (local.get $N4) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows4)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $M)))
        (call $row (local.get $a) (local.get $b) (local.get $out)
                   (local.get $K) (local.get $N) (i32.const 0) (local.get $acc))
        (local.set $a (i32.add (local.get $a) (local.get $K4)))
        (local.set $out (i32.add (local.get $out) (local.get $N4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; out (+)= v at address p (f32x4)
  (func $put4 (param $p i32) (param $v v128) (param $acc i32)
    (if (local.get $acc)
      (then (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p)) (local.get $v))))
      (else (v128.store (local.get $p) (local.get $v)))))

  ;; Four rows of a (from a, K apart) times b's columns [0, N8), N8 = N rounded down to 8, into
  ;; four rows of out. Returns N8.
  (func $block4 (param $a i32) (param $b i32) (param $out i32)
        (param $K i32) (param $N i32) (param $acc i32) (result i32)
    (local $j i32) (local $k i32) (local $K4 i32) (local $N4 i32)
    (local $pa i32) (local $pb i32) (local $o i32) (local $x v128) (local $b0 v128) (local $b1 v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $K4 (i32.shl (local.get $K) (i32.const 2)))
    (local.set $N4 (i32.shl (local.get $N) (i32.const 2)))
    (block $cols_done
      (loop $cols
        (br_if $cols_done (i32.gt_s (i32.add (local.get $j) (i32.const 8)) (local.get $N)))
        (local.set $s00 (v128.const i64x2 0 0)) (local.set $s01 (v128.const i64x2 0 0))
        (local.set $s10 (v128.const i64x2 0 0)) (local.set $s11 (v128.const i64x2 0 0))
        (local.set $s20 (v128.const i64x2 0 0)) (local.set $s21 (v128.const i64x2 0 0))
        (local.set $s30 (v128.const i64x2 0 0)) (local.set $s31 (v128.const i64x2 0 0))
        (local.set $pa (local.get $a))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $k (i32.const 0))
        (block $k_done
          (loop $ks
            (br_if $k_done (i32.ge_s (local.get $k) (local.get $K)))
            (local.set $b0 (v128.load (local.get $pb)))
            (local.set $b1 (v128.load offset=16 (local.get $pb)))
            (local.set $x (f32x4.splat (f32.load (local.get $pa))))
            (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (f32x4.splat (f32.load (i32.add (local.get $pa) (local.get $K4)))))
            (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $s11 (f32x4.add (local.get $s11) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (f32x4.splat (f32.load (i32.add (local.get $pa) (i32.shl (local.get $K4) (i32.const 1))))))
            (local.set $s20 (f32x4.add (local.get $s20) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $s21 (f32x4.add (local.get $s21) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (f32x4.splat (f32.load (i32.add (local.get $pa) (i32.mul (local.get $K4) (i32.const 3))))))
            (local.set $s30 (f32x4.add (local.get $s30) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $s31 (f32x4.add (local.get $s31) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
            (local.set $pb (i32.add (local.get $pb) (local.get $N4)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $ks)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))))
        (call $put4 (local.get $o) (local.get $s00) (local.get $acc))
        (call $put4 (i32.add (local.get $o) (i32.const 16)) (local.get $s01) (local.get $acc))
        (local.set $o (i32.add (local.get $o) (local.get $N4)))
        (call $put4 (local.get $o) (local.get $s10) (local.get $acc))
        (call $put4 (i32.add (local.get $o) (i32.const 16)) (local.get $s11) (local.get $acc))
        (local.set $o (i32.add (local.get $o) (local.get $N4)))
        (call $put4 (local.get $o) (local.get $s20) (local.get $acc))
        (call $put4 (i32.add (local.get $o) (i32.const 16)) (local.get $s21) (local.get $acc))
        (local.set $o (i32.add (local.get $o) (local.get $N4)))
        (call $put4 (local.get $o) (local.get $s30) (local.get $acc))
        (call $put4 (i32.add (local.get $o) (i32.const 16)) (local.get $s31) (local.get $acc))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $cols)))
    (local.get $j))

  ;; One row of a times b's columns [j0, N), into the same columns of one row of out:
  ;; blocks of 16 columns (four f32x4 sums), then of 4, then one at a time.
  (func $row (param $a i32) (param $b i32) (param $out i32)
        (param $K i32) (param $N i32) (param $j i32) (param $acc i32)
    (local $k i32) (local $N4 i32) (local $pa i32) (local $pb i32) (local $o i32) (local $x v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s f32)
    (local.set $N4 (i32.shl (local.get $N) (i32.const 2)))
    (block $c16_done
      (loop $c16
        (br_if $c16_done (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $N)))
        (local.set $s0 (v128.const i64x2 0 0)) (local.set $s1 (v128.const i64x2 0 0))
        (local.set $s2 (v128.const i64x2 0 0)) (local.set $s3 (v128.const i64x2 0 0))
        (local.set $pa (local.get $a))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $k (i32.const 0))
        (block $k_done
          (loop $ks
            (br_if $k_done (i32.ge_s (local.get $k) (local.get $K)))
            (local.set $x (f32x4.splat (f32.load (local.get $pa))))
            (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $x) (v128.load (local.get $pb)))))
            (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $pb)))))
            (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $x) (v128.load offset=32 (local.get $pb)))))
            (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $x) (v128.load offset=48 (local.get $pb)))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
            (local.set $pb (i32.add (local.get $pb) (local.get $N4)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $ks)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))))
        (call $put4 (local.get $o) (local.get $s0) (local.get $acc))
        (call $put4 (i32.add (local.get $o) (i32.const 16)) (local.get $s1) (local.get $acc))
        (call $put4 (i32.add (local.get $o) (i32.const 32)) (local.get $s2) (local.get $acc))
        (call $put4 (i32.add (local.get $o) (i32.const 48)) (local.get $s3) (local.get $acc))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $c16)))
    (block $c4_done
      (loop $c4
        (br_if $c4_done (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $N)))
        (local.set $s0 (v128.const i64x2 0 0))
        (local.set $pa (local.get $a))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $k (i32.const 0))
        (block $k_done
          (loop $ks
            (br_if $k_done (i32.ge_s (local.get $k) (local.get $K)))
            (local.set $s0 (f32x4.add (local.get $s0)
              (f32x4.mul (f32x4.splat (f32.load (local.get $pa))) (v128.load (local.get $pb)))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
            (local.set $pb (i32.add (local.get $pb) (local.get $N4)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $ks)))
        (call $put4 (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))) (local.get $s0) (local.get $acc))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $c4)))
    (block $c1_done
      (loop $c1
        (br_if $c1_done (i32.ge_s (local.get $j) (local.get $N)))
        (local.set $s (f32.const 0))
        (local.set $pa (local.get $a))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $k (i32.const 0))
        (block $k_done
          (loop $ks
            (br_if $k_done (i32.ge_s (local.get $k) (local.get $K)))
            (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pb)))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
            (local.set $pb (i32.add (local.get $pb) (local.get $N4)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $ks)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))))
        (if (local.get $acc)
          (then (f32.store (local.get $o) (f32.add (f32.load (local.get $o)) (local.get $s))))
          (else (f32.store (local.get $o) (local.get $s))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $c1))))
;; -- element-wise ------------------------------------------------------------------------

  ;; out[i, j] = f32(out[i, j] + bias[j]) for rows x N values (a bias added to each row).
  (func $add_rows (export "add_rows") (param $out i32) (param $bias i32) (param $rows i32) (param $N i32)
    (local $i i32) (local $j i32) (local $N4 i32)
    (local.set $N4 (i32.shl (local.get $N) (i32.const 2)))
    (block $done
      (loop $rs
        (br_if $done (i32.ge_s (local.get $i) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $row_done
          (loop $js
            (br_if $row_done (i32.ge_s (local.get $j) (local.get $N4)))
            (f32.store (i32.add (local.get $out) (local.get $j))
              (f32.add (f32.load (i32.add (local.get $out) (local.get $j)))
                       (f32.load (i32.add (local.get $bias) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $js)))
        (local.set $out (i32.add (local.get $out) (local.get $N4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rs))))

;; softmax over each of rows rows of n float32 values at p, in place, as the JavaScript
  ;; runtime's softmaxRows computes it: m the row's largest value (NaN never is), each value
  ;; f32(e^f32(x - m)), s their sum in double precision rounded to float32, each value f32(v / s).
  (func (export "softmax_rows") (param $p i32) (param $n i32) (param $rows i32)
    (local $r i32) (local $o i32) (local $end i32) (local $m f32) (local $v f32) (local $s f64)
    (block $done
      (loop $rs
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $m (f32.const -inf))
        (local.set $o (local.get $p))
        (block $max_done
          (loop $max
            (br_if $max_done (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $v (f32.load (local.get $o)))
            (if (f32.gt (local.get $v) (local.get $m)) (then (local.set $m (local.get $v))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $max)))
        (local.set $s (f64.const 0))
        (local.set $o (local.get $p))
        (block $exp_done
          (loop $exps
            (br_if $exp_done (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $v (f32.demote_f64 (call $exp (f64.promote_f32 (f32.sub (f32.load (local.get $o)) (local.get $m))))))
            (f32.store (local.get $o) (local.get $v))
            (local.set $s (f64.add (local.get $s) (f64.promote_f32 (local.get $v))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $exps)))
        (local.set $s (f64.promote_f32 (f32.demote_f64 (local.get $s))))
        (local.set $o (local.get $p))
        (block $div_done
          (loop $divs
            (br_if $div_done (i32.ge_u (local.get $o) (local.get $end)))
            (f32.store (local.get $o) (f32.demote_f64 (f64.div (f64.promote_f32 (f32.load (local.get $o))) (local.get $s))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $divs)))
        (local.set $p (local.get $end))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rs))))

    ;; e^x in double precision: x = n ln2 + r, |r| <= ln2/2, e^r by its Taylor series to r^11
  ;; (relative error < 1e-14), times 2^n built from its bits. x is clamped to [-708, 709]
  ;; (results then round to the same float32 as e^x's); NaN stays NaN.
  (func $exp (export "exp") (param $x f64) (result f64)
    (local $n f64) (local $r f64) (local $p f64)
    (local.set $x (f64.min (f64.max (local.get $x) (f64.const -708)) (f64.const 709)))
    (local.set $n (f64.nearest (f64.mul (local.get $x) (f64.const 1.4426950408889634))))
    (local.set $r (f64.sub (f64.sub (local.get $x) (f64.mul (local.get $n) (f64.const 0x1.62e42feep-1)))
                           (f64.mul (local.get $n) (f64.const 0x1.a39ef35793c76p-33))))
    (local.set $p (f64.const 0x1.ae64567f544e4p-26))                                   ;; 1/11!
    (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.27e4fb7789f5cp-22))) ;; 1/10!
    (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.71de3a556c734p-19))) ;; 1/9!
    (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.a01a01a01a01ap-16))) ;; 1/8!
    (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.a01a01a01a01ap-13))) ;; 1/7!
    (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.6c16c16c16c17p-10))) ;; 1/6!
    (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.1111111111111p-7)))  ;; 1/5!
    (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.5555555555555p-5)))  ;; 1/4!
    (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.5555555555555p-3)))  ;; 1/3!
    (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0.5)))
    (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 1)))
    (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 1)))
    (f64.mul (local.get $p)
      (f64.reinterpret_i64 (i64.shl (i64.add (i64.trunc_sat_f64_s (local.get $n)) (i64.const 1023)) (i64.const 52)))))

  ;; 1 / (1 + e^-x), as the JavaScript runtime's sigmoid
  (func $sigmoid (export "sigmoid") (param $x f64) (result f64)
    (f64.div (f64.const 1) (f64.add (f64.const 1) (call $exp (f64.neg (local.get $x))))))

  ;; tanh x = sign(x) (1 - e^-2|x|) / (1 + e^-2|x|)
  (func $tanh (export "tanh") (param $x f64) (result f64)
    (local $t f64)
    (local.set $t (call $exp (f64.mul (f64.const -2) (f64.abs (local.get $x)))))
    (f64.copysign (f64.div (f64.sub (f64.const 1) (local.get $t)) (f64.add (f64.const 1) (local.get $t)))
                  (local.get $x)))

  ;; -- recurrent layers, the whole scan over time ---------------------------------------------
  ;; xs (B, T, G): the input projected (x @ kernel + bias); h, c (B, H): the initial states,
  ;; the final ones on return; seq (B, T, H) the output at each step (in step order), or 0 for
  ;; none; z (B, G) scratch. back != 0: steps run from t = T-1 down (go_backwards). Each value
  ;; is rounded to float32 where the JavaScript runtime stores it in a Float32Array, and
  ;; computed in double precision between, as there.

  ;; copy row t of each batch's xs (B, T, G) into z (B, G)
  (func $take_step (param $xs i32) (param $z i32) (param $t i32) (param $B i32) (param $T i32) (param $G4 i32)
    (local $b i32)
    (block $done
      (loop $bs
        (br_if $done (i32.ge_s (local.get $b) (local.get $B)))
        (memory.copy
          (i32.add (local.get $z) (i32.mul (local.get $b) (local.get $G4)))
          (i32.add (local.get $xs) (i32.mul (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $t)) (local.get $G4)))
          (local.get $G4))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bs))))

  ;; copy h (B, H) into step k of seq (B, T, H)
  (func $put_step (param $h i32) (param $seq i32) (param $k i32) (param $B i32) (param $T i32) (param $H4 i32)
    (local $b i32)
    (block $done
      (loop $bs
        (br_if $done (i32.ge_s (local.get $b) (local.get $B)))
        (memory.copy
          (i32.add (local.get $seq) (i32.mul (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $k)) (local.get $H4)))
          (i32.add (local.get $h) (i32.mul (local.get $b) (local.get $H4)))
          (local.get $H4))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bs))))

  ;; LSTM, gates (i, f, c, o), recurrent activation sigmoid, activation tanh:
  ;; z = xs_t + h @ U; c' = f c + i g; h' = o tanh(c')
  (func (export "lstm_seq") (param $xs i32) (param $U i32) (param $h i32) (param $c i32) (param $seq i32)
        (param $z i32) (param $B i32) (param $T i32) (param $H i32) (param $back i32)
    (local $k i32) (local $G i32) (local $G4 i32) (local $H4 i32) (local $n i32) (local $q i32) (local $p i32) (local $row i32) (local $col i32)
    (local $zi f64) (local $zf f64) (local $zg f64) (local $zo f64) (local $cn f32)
    (local.set $G (i32.shl (local.get $H) (i32.const 2)))
    (local.set $G4 (i32.shl (local.get $G) (i32.const 2)))
    (local.set $H4 (i32.shl (local.get $H) (i32.const 2)))
    (block $done
      (loop $steps
        (br_if $done (i32.ge_s (local.get $k) (local.get $T)))
        (call $take_step (local.get $xs) (local.get $z)
          (select (i32.sub (i32.sub (local.get $T) (i32.const 1)) (local.get $k)) (local.get $k) (local.get $back))
          (local.get $B) (local.get $T) (local.get $G4))
        (call $gemm (local.get $h) (local.get $U) (local.get $z) (local.get $B) (local.get $H) (local.get $G) (i32.const 1))
        ;; n runs over the B*H states (batch row, column col): q their gates' address in z, p the state's
        (local.set $n (i32.const 0))
        (local.set $row (i32.const 0))
        (local.set $col (i32.const 0))
        (block $cells_done
          (loop $cells
            (br_if $cells_done (i32.ge_s (local.get $n) (i32.mul (local.get $B) (local.get $H))))
            (local.set $q (i32.add (local.get $z) (i32.add (local.get $row) (i32.shl (local.get $col) (i32.const 2)))))
            (local.set $p (i32.shl (local.get $n) (i32.const 2)))
            (local.set $zi (f64.promote_f32 (f32.demote_f64 (call $sigmoid (f64.promote_f32 (f32.load (local.get $q)))))))
            (local.set $q (i32.add (local.get $q) (local.get $H4)))
            (local.set $zf (f64.promote_f32 (f32.demote_f64 (call $sigmoid (f64.promote_f32 (f32.load (local.get $q)))))))
            (local.set $q (i32.add (local.get $q) (local.get $H4)))
            (local.set $zg (f64.promote_f32 (f32.demote_f64 (call $tanh (f64.promote_f32 (f32.load (local.get $q)))))))
            (local.set $q (i32.add (local.get $q) (local.get $H4)))
            (local.set $zo (f64.promote_f32 (f32.demote_f64 (call $sigmoid (f64.promote_f32 (f32.load (local.get $q)))))))
            (local.set $cn (f32.demote_f64
              (f64.add (f64.mul (local.get $zf) (f64.promote_f32 (f32.load (i32.add (local.get $c) (local.get $p)))))
                       (f64.mul (local.get $zi) (local.get $zg)))))
            (f32.store (i32.add (local.get $c) (local.get $p)) (local.get $cn))
            (f32.store (i32.add (local.get $h) (local.get $p))
              (f32.demote_f64 (f64.mul
                (f64.promote_f32 (f32.demote_f64 (call $tanh (f64.promote_f32 (local.get $cn)))))
                (local.get $zo))))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            ;; (row, col) of state n: its batch row's offset in z (bytes) and its column
            (local.set $col (i32.add (local.get $col) (i32.const 1)))
            (if (i32.eq (local.get $col) (local.get $H))
              (then (local.set $col (i32.const 0))
                    (local.set $row (i32.add (local.get $row) (local.get $G4)))))
            (br $cells)))
        (if (local.get $seq)
          (then (call $put_step (local.get $h) (local.get $seq) (local.get $k) (local.get $B) (local.get $T) (local.get $H4))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $steps))))

  ;; GRU with reset_after, gates (z, r, h), recurrent activation sigmoid, activation tanh:
  ;; inner = h @ U + rb (rb: 0 for no bias); z, r = sigmoid(xs_t + inner) (first 2H);
  ;; hh = tanh(xs_t[2H:] + r inner[2H:]); h' = z h + (1 - z) hh. inner (B, 3H) scratch.
  (func (export "gru_seq") (param $xs i32) (param $U i32) (param $rb i32) (param $h i32) (param $seq i32)
        (param $z i32) (param $inner i32) (param $B i32) (param $T i32) (param $H i32) (param $back i32)
    (local $k i32) (local $G i32) (local $G4 i32) (local $H4 i32) (local $n i32) (local $q i32) (local $p i32) (local $row i32) (local $col i32)
    (local $qi i32) (local $zz f64) (local $zr f64) (local $hh f64)
    (local.set $G (i32.mul (local.get $H) (i32.const 3)))
    (local.set $G4 (i32.shl (local.get $G) (i32.const 2)))
    (local.set $H4 (i32.shl (local.get $H) (i32.const 2)))
    (block $done
      (loop $steps
        (br_if $done (i32.ge_s (local.get $k) (local.get $T)))
        (call $take_step (local.get $xs) (local.get $z)
          (select (i32.sub (i32.sub (local.get $T) (i32.const 1)) (local.get $k)) (local.get $k) (local.get $back))
          (local.get $B) (local.get $T) (local.get $G4))
        (call $gemm (local.get $h) (local.get $U) (local.get $inner) (local.get $B) (local.get $H) (local.get $G) (i32.const 0))
        (if (local.get $rb)
          (then (call $add_rows (local.get $inner) (local.get $rb) (local.get $B) (local.get $G))))
        (local.set $n (i32.const 0))
        (local.set $row (i32.const 0))
        (local.set $col (i32.const 0))
        (block $cells_done
          (loop $cells
            (br_if $cells_done (i32.ge_s (local.get $n) (i32.mul (local.get $B) (local.get $H))))
            (local.set $q (i32.add (local.get $row) (i32.shl (local.get $col) (i32.const 2))))
            (local.set $qi (i32.add (local.get $inner) (local.get $q)))
            (local.set $q (i32.add (local.get $z) (local.get $q)))
            (local.set $p (i32.add (local.get $h) (i32.shl (local.get $n) (i32.const 2))))
            ;; z and r: f32(xs + inner), then f32(sigmoid)
            (local.set $zz (f64.promote_f32 (f32.demote_f64 (call $sigmoid (f64.promote_f32
              (f32.add (f32.load (local.get $q)) (f32.load (local.get $qi))))))))
            (local.set $zr (f64.promote_f32 (f32.demote_f64 (call $sigmoid (f64.promote_f32
              (f32.add (f32.load (i32.add (local.get $q) (local.get $H4)))
                       (f32.load (i32.add (local.get $qi) (local.get $H4)))))))))
            (local.set $q (i32.add (local.get $q) (i32.shl (local.get $H4) (i32.const 1))))
            (local.set $qi (i32.add (local.get $qi) (i32.shl (local.get $H4) (i32.const 1))))
            (local.set $hh (f64.promote_f32 (f32.demote_f64
              (f64.add (f64.promote_f32 (f32.load (local.get $q)))
                       (f64.mul (local.get $zr) (f64.promote_f32 (f32.load (local.get $qi))))))))
            (local.set $hh (f64.promote_f32 (f32.demote_f64 (call $tanh (local.get $hh)))))
            (f32.store (local.get $p) (f32.demote_f64
              (f64.add (f64.mul (local.get $zz) (f64.promote_f32 (f32.load (local.get $p))))
                       (f64.mul (f64.sub (f64.const 1) (local.get $zz)) (local.get $hh)))))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            ;; (row, col) of state n: its batch row's offset in z (bytes) and its column
            (local.set $col (i32.add (local.get $col) (i32.const 1)))
            (if (i32.eq (local.get $col) (local.get $H))
              (then (local.set $col (i32.const 0))
                    (local.set $row (i32.add (local.get $row) (local.get $G4)))))
            (br $cells)))
        (if (local.get $seq)
          (then (call $put_step (local.get $h) (local.get $seq) (local.get $k) (local.get $B) (local.get $T) (local.get $H4))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $steps))))
)
