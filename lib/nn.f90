! nn.f90 - Fortran 2008 bindings of libnn 1.0: `use nn` (docs/FORTRAN.md).
!
! The module has two layers; both come with `use nn`.
!
! 1. The C API as it is: a bind(c) interface for every function of nn.h,
!    under its C name, so that the comments of nn.h apply word for word.
!    Fortran names ignore case, so three functions share a name with a
!    constant (nn_net_loss / NN_NET_LOSS, nn_version_number /
!    NN_VERSION_NUMBER, nn_version_string / NN_VERSION_STRING): the
!    constants keep their names and those functions are nn_net_loss_c,
!    nn_version_number_c and nn_version_string_c here. The constants are
!    integer(c_int32_t) parameters (every enumeration of the 1.0 ABI is an
!    int32_t), the sentinels
!    NN_NO_COLUMN / NN_NET_WIDE are integer(c_size_t) (SIZE_MAX, i.e. -1),
!    and nn_allocator, nn_error_info and nn_report are bind(c) types.
!    How the C types travel:
!      handle (nn_net_t *, ...)          type(c_ptr), value
!      T **out                           type(c_ptr), intent(out)
!      size_t / int32_t / double         integer(c_size_t) / integer(c_int32_t)
!                                        / real(c_double), value
!      int64_t, uint64_t                 integer(c_int64_t) (Fortran has no
!                                        unsigned kinds: a seed above 2^63 is
!                                        a negative number here)
!      uint32_t (nn_version_number)      integer(c_int32_t)
!      double * / int32_t * arrays       assumed size, X(*)
!      a pointer nn.h allows to be NULL  type(c_ptr), value: c_null_ptr or
!                                        c_loc(x)
!      const char *path                  character(kind=c_char) :: path(*),
!                                        ending in c_null_char
!      callbacks                         type(c_funptr): c_funloc of a bind(c)
!                                        procedure with the abstract
!                                        interface nn_report_fn, ...
!
! 2. Thin wrappers: a derived type per handle (nn_net, nn_netspec, nn_optim,
!    nn_trainer, nn_data, nn_ctx, nn_scaler, nn_dense) holding the C pointer
!    in its component `ptr`, with type-bound procedures. Fallible ones are
!    functions returning the integer(c_int32_t) status (NN_OK == 0), so a
!    result cannot be dropped by accident; outputs are arguments; settings
!    with a default are optional arguments.
!    Batches are contiguous real(c_double) arrays used in place: a Fortran
!    X(m, n) is an m x n batch in NN_COL_MAJOR with leading dimension
!    size(X, 1) (the default); with order = NN_ROW_MAJOR, X(n, m) holds one
!    sample per column (a solver's u(:, t)), again with leading dimension
!    size(X, 1). The dummies are `contiguous`, so an actual argument the
!    compiler knows to be contiguous (a whole array, X(:, j1:j2), a
!    contiguous pointer) goes to C without a copy; any other is packed into
!    a temporary by the compiler, as for every contiguous dummy (gfortran
!    packs even u(lo:hi, :) of an N x 1 array: docs/FORTRAN.md).
!    The wrappers check every array's shape against the network (the C API
!    has no column count to check a batch against) and return NN_ERR_SHAPE.
!    Layer, label, class and column numbers stay the library's (0-based),
!    as in the model files and the C documentation.
!    A handle is destroyed by `call x%destroy()` or by its final procedure.
!    Call destroy explicitly: gfortran before 13 does not finalize local
!    variables when they go out of scope. Handles cannot be copied: the
!    assignment a = b stops the program (a copied pointer would be freed
!    twice); use nn_net%clone for a copy of a network.
module nn
  use, intrinsic :: iso_c_binding, only: c_ptr, c_funptr, c_null_ptr, &
      c_null_funptr, c_associated, c_loc, c_funloc, c_f_pointer, c_char, &
      c_null_char, c_double, c_int32_t, c_int64_t, c_int8_t, c_size_t, &
      c_sizeof
  implicit none
  ! Everything below is public except the iso_c_binding names re-declared
  ! here and the helpers marked private: users import iso_c_binding themselves.
  private :: c_ptr, c_funptr, c_null_ptr, c_null_funptr, c_associated, &
      c_loc, c_funloc, c_f_pointer, c_char, c_null_char, c_double, &
      c_int32_t, c_int64_t, c_int8_t, c_size_t, c_sizeof

  ! ---------------------------------------------------------------- version
  integer(c_int32_t), parameter :: NN_VERSION_MAJOR = 1
  integer(c_int32_t), parameter :: NN_VERSION_MINOR = 0
  integer(c_int32_t), parameter :: NN_VERSION_PATCH = 0
  integer(c_int32_t), parameter :: NN_VERSION_NUMBER = 10000
  character(len=*), parameter :: NN_VERSION_STRING = '1.0.0'

  ! ---------------------------------------------------------------- status
  integer(c_int32_t), parameter :: NN_OK = 0
  integer(c_int32_t), parameter :: NN_ERR_NOMEM = 1
  integer(c_int32_t), parameter :: NN_ERR_INVALID = 2
  integer(c_int32_t), parameter :: NN_ERR_SHAPE = 3
  integer(c_int32_t), parameter :: NN_ERR_NUMERIC = 4
  integer(c_int32_t), parameter :: NN_ERR_IO = 5
  integer(c_int32_t), parameter :: NN_ERR_FORMAT = 6
  integer(c_int32_t), parameter :: NN_ERR_TOO_LARGE = 7
  integer(c_int32_t), parameter :: NN_ERR_UNSUPPORTED = 8
  integer(c_int32_t), parameter :: NN_ERR_STATE = 9

  ! ---------------------------------------------------------------- constants
  integer(c_int32_t), parameter :: NN_ROW_MAJOR = 0
  integer(c_int32_t), parameter :: NN_COL_MAJOR = 1
  integer(c_int32_t), parameter :: NN_ACT_IDENTITY = 0
  integer(c_int32_t), parameter :: NN_ACT_SIGMOID = 1
  integer(c_int32_t), parameter :: NN_ACT_TANH = 2
  integer(c_int32_t), parameter :: NN_ACT_RELU = 3
  integer(c_int32_t), parameter :: NN_ACT_LEAKY_RELU = 4
  integer(c_int32_t), parameter :: NN_ACT_SOFTMAX = 5
  integer(c_int32_t), parameter :: NN_LOSS_MSE = 0
  integer(c_int32_t), parameter :: NN_LOSS_BCE = 1
  integer(c_int32_t), parameter :: NN_LOSS_SOFTMAX_CE = 2
  integer(c_int32_t), parameter :: NN_REDUCE_MEAN = 0
  integer(c_int32_t), parameter :: NN_REDUCE_SUM = 1
  integer(c_int32_t), parameter :: NN_INIT_DEFAULT = 0
  integer(c_int32_t), parameter :: NN_INIT_GLOROT_UNIFORM = 1
  integer(c_int32_t), parameter :: NN_INIT_HE_UNIFORM = 2
  integer(c_int32_t), parameter :: NN_INIT_ZERO = 3
  integer(c_int32_t), parameter :: NN_INIT_GLOROT_NORMAL = 4
  integer(c_int32_t), parameter :: NN_INIT_HE_NORMAL = 5
  integer(c_int32_t), parameter :: NN_INIT_ORTHOGONAL = 6
  ! (size_t)-1: the same bits as SIZE_MAX in Fortran's signed integer
  integer(c_size_t), parameter :: NN_NO_COLUMN = -1_c_size_t
  integer(c_size_t), parameter :: NN_NET_WIDE = -1_c_size_t

  ! ---------------------------------------------------------------- keys
  integer(c_int32_t), parameter :: NN_NET_LOSS = 100
  integer(c_int32_t), parameter :: NN_NET_REDUCTION = 101
  integer(c_int32_t), parameter :: NN_NET_CHECK_FINITE = 102
  integer(c_int32_t), parameter :: NN_NET_DROPOUT_SEED = 103
  integer(c_int32_t), parameter :: NN_NET_DROPOUT_STEP = 104
  integer(c_int32_t), parameter :: NN_NET_DROPOUT_ROW0 = 105
  integer(c_int32_t), parameter :: NN_LAYER_DENSE = 0
  integer(c_int32_t), parameter :: NN_LAYER_KIND = 200
  integer(c_int32_t), parameter :: NN_LAYER_UNITS = 201
  integer(c_int32_t), parameter :: NN_LAYER_ACTIVATION = 202
  integer(c_int32_t), parameter :: NN_LAYER_ACT_PARAM = 203
  integer(c_int32_t), parameter :: NN_LAYER_DROPOUT = 204
  integer(c_int32_t), parameter :: NN_OPTIM_SGD = 0
  integer(c_int32_t), parameter :: NN_OPTIM_MOMENTUM = 1
  integer(c_int32_t), parameter :: NN_OPTIM_NESTEROV = 2
  integer(c_int32_t), parameter :: NN_OPTIM_ADAM = 3
  integer(c_int32_t), parameter :: NN_OPTIM_KIND = 300
  integer(c_int32_t), parameter :: NN_OPTIM_LR = 301
  integer(c_int32_t), parameter :: NN_OPTIM_MOMENTUM_COEF = 302
  integer(c_int32_t), parameter :: NN_OPTIM_BETA1 = 303
  integer(c_int32_t), parameter :: NN_OPTIM_BETA2 = 304
  integer(c_int32_t), parameter :: NN_OPTIM_EPS = 305
  integer(c_int32_t), parameter :: NN_OPTIM_WEIGHT_DECAY = 306
  integer(c_int32_t), parameter :: NN_OPTIM_DECOUPLED = 307
  integer(c_int32_t), parameter :: NN_OPTIM_CLIP_NORM = 308
  integer(c_int32_t), parameter :: NN_OPTIM_STEPS = 309
  integer(c_int32_t), parameter :: NN_SCHED_CONSTANT = 0
  integer(c_int32_t), parameter :: NN_SCHED_STEP = 1
  integer(c_int32_t), parameter :: NN_SCHED_COSINE = 2
  integer(c_int32_t), parameter :: NN_TRAIN_EPOCHS = 400
  integer(c_int32_t), parameter :: NN_TRAIN_BATCH_SIZE = 401
  integer(c_int32_t), parameter :: NN_TRAIN_SHUFFLE = 402
  integer(c_int32_t), parameter :: NN_TRAIN_SEED = 403
  integer(c_int32_t), parameter :: NN_TRAIN_VAL_FRACTION = 404
  integer(c_int32_t), parameter :: NN_TRAIN_PATIENCE = 405
  integer(c_int32_t), parameter :: NN_TRAIN_RESTORE_BEST = 406
  integer(c_int32_t), parameter :: NN_TRAIN_SCHEDULE = 407
  integer(c_int32_t), parameter :: NN_TRAIN_GAMMA = 408
  integer(c_int32_t), parameter :: NN_TRAIN_STEP_EPOCHS = 409
  integer(c_int32_t), parameter :: NN_TRAIN_LR_MIN = 410
  integer(c_int32_t), parameter :: NN_TRAIN_WARMUP_STEPS = 411
  integer(c_int32_t), parameter :: NN_TRAIN_REPORT_EVERY = 412
  integer(c_int32_t), parameter :: NN_TRAIN_RESUME = 413
  integer(c_int32_t), parameter :: NN_TRAIN_EPOCHS_RUN = 450
  integer(c_int32_t), parameter :: NN_TRAIN_BEST_EPOCH = 451
  integer(c_int32_t), parameter :: NN_TRAIN_STOPPED_EARLY = 452
  integer(c_int32_t), parameter :: NN_TRAIN_STEPS_RUN = 453
  integer(c_int32_t), parameter :: NN_TRAIN_PAUSED = 454
  integer(c_int32_t), parameter :: NN_TRAIN_BEST_VAL_LOSS = 460
  integer(c_int32_t), parameter :: NN_TRAIN_FINAL_LOSS = 461
  integer(c_int32_t), parameter :: NN_TRAIN_SECONDS = 462
  integer(c_int32_t), parameter :: NN_METRIC_LOSS = 500
  integer(c_int32_t), parameter :: NN_METRIC_ACCURACY = 501
  integer(c_int32_t), parameter :: NN_METRIC_MSE = 502
  integer(c_int32_t), parameter :: NN_METRIC_MAE = 503
  integer(c_int32_t), parameter :: NN_METRIC_R2 = 504
  integer(c_int32_t), parameter :: NN_METRIC_MSE_OUTPUTS = 510
  integer(c_int32_t), parameter :: NN_METRIC_MAE_OUTPUTS = 511
  integer(c_int32_t), parameter :: NN_METRIC_R2_OUTPUTS = 512
  integer(c_int32_t), parameter :: NN_KEY_EXPERIMENTAL = 10000
  integer(c_int32_t), parameter :: NN_PARAM_INT = 1
  integer(c_int32_t), parameter :: NN_PARAM_REAL = 2
  integer(c_int32_t), parameter :: NN_GRAD_SPARE = 4
  integer(c_int32_t), parameter :: NN_SCALE_STANDARD = 0
  integer(c_int32_t), parameter :: NN_SCALE_MINMAX = 1
  integer(c_int32_t), parameter :: NN_SCALE_CUSTOM = 2
  integer(c_int32_t), parameter :: NN_SCALER_INPUT = 0
  integer(c_int32_t), parameter :: NN_SCALER_TARGET = 1
  integer(c_int32_t), parameter :: NN_CSV_HEADER_NONE = 0
  integer(c_int32_t), parameter :: NN_CSV_HEADER_LINE = 1
  integer(c_int32_t), parameter :: NN_CSV_HEADER_AUTO = 2
  integer(c_int32_t), parameter :: NN_NAME_FEATURE = 0
  integer(c_int32_t), parameter :: NN_NAME_TARGET = 1
  integer(c_int32_t), parameter :: NN_NAME_LABEL = 2
  integer(c_int32_t), parameter :: NN_NAME_CLASS = 3
  integer(c_int32_t), parameter :: NN_NAME_COLUMN = 4
  integer(c_int32_t), parameter :: NN_REPORT_BATCH = 0
  integer(c_int32_t), parameter :: NN_REPORT_EPOCH = 1
  integer(c_int32_t), parameter :: NN_REPORT_PAUSE = 2
  integer(c_int32_t), parameter :: NN_MODEL_FORMAT_VERSION = 3

  ! ---------------------------------------------------------------- structs
  ! Member for member the C structs (tests/test_fortran.f90 compares the
  ! sizes and offsets with the C compiler's).
  type, bind(c) :: nn_allocator
    type(c_funptr) :: alloc = c_null_funptr  ! void *(*)(void *ctx, size_t)
    type(c_funptr) :: free = c_null_funptr   ! void (*)(void *ctx, void *, size_t)
    type(c_ptr) :: ctx = c_null_ptr
  end type nn_allocator

  ! The text members are C char arrays: nnf_string(err%message) gives a
  ! Fortran string.
  type, bind(c) :: nn_error_info
    character(kind=c_char) :: file(256)
    integer(c_size_t) :: line
    integer(c_size_t) :: column
    integer(c_size_t) :: offset
    character(kind=c_char) :: message(256)
  end type nn_error_info

  type, bind(c) :: nn_report
    integer(c_size_t) :: size
    integer(c_int32_t) :: kind
    integer(c_int32_t) :: reserved
    integer(c_size_t) :: epoch
    integer(c_size_t) :: epochs
    integer(c_size_t) :: batch
    integer(c_size_t) :: batches
    integer(c_size_t) :: rows
    real(c_double) :: train_loss
    real(c_double) :: val_loss
    real(c_double) :: val_accuracy
    real(c_double) :: lr
    real(c_double) :: seconds
  end type nn_report

  ! nn_data_read_csv's format; set size = c_sizeof(fmt) (the wrapper does)
  type, bind(c) :: nn_csv_format
    integer(c_size_t) :: size
    integer(c_int32_t) :: header
    integer(c_int32_t) :: delimiter
    integer(c_size_t) :: label_col
  end type nn_csv_format

  ! ---------------------------------------------------------------- callbacks
  ! Write a callback as a bind(c) function with exactly these dummies and
  ! pass it to the wrappers (or c_funloc(fn) to the C calls).
  abstract interface
    function nn_report_fn(report, ctx) bind(c)
      import :: nn_report, c_ptr, c_int32_t
      type(nn_report), intent(in) :: report
      type(c_ptr), value :: ctx
      integer(c_int32_t) :: nn_report_fn      ! non-zero: stop training
    end function nn_report_fn
    function nn_grad_hook_fn(grad, len, m, loss, ctx) bind(c)
      import :: c_ptr, c_int32_t, c_size_t, c_double
      integer(c_size_t), value :: len, m
      real(c_double), intent(inout) :: grad(len)
      real(c_double), intent(inout) :: loss
      type(c_ptr), value :: ctx
      integer(c_int32_t) :: nn_grad_hook_fn   ! NN_OK to go on
    end function nn_grad_hook_fn
    function nn_allsum_fn(buf, len, ctx) bind(c)
      import :: c_ptr, c_int32_t, c_size_t, c_double
      integer(c_size_t), value :: len
      real(c_double), intent(inout) :: buf(len)
      type(c_ptr), value :: ctx
      integer(c_int32_t) :: nn_allsum_fn
    end function nn_allsum_fn
  end interface


  ! ================================================================ the C API
  ! One interface per function of nn.h, in the header's order; see nn.h
  ! for each contract.
  interface
    ! version and status
    function nn_version_number_c() bind(c, name='nn_version_number')
      import
      integer(c_int32_t) :: nn_version_number_c
    end function nn_version_number_c
    function nn_version_string_c() bind(c, name='nn_version_string')
      import
      type(c_ptr) :: nn_version_string_c
    end function nn_version_string_c
    function nn_strerror(status) bind(c, name='nn_strerror')
      import
      integer(c_int32_t), value :: status
      type(c_ptr) :: nn_strerror
    end function nn_strerror
    function nn_param_info(key, type, lo, hi, writable) &
        bind(c, name='nn_param_info')
      import
      integer(c_int32_t), value :: key
      type(c_ptr), value :: type
      type(c_ptr), value :: lo
      type(c_ptr), value :: hi
      type(c_ptr), value :: writable
      integer(c_int32_t) :: nn_param_info
    end function nn_param_info
    ! threads
    function nn_set_num_threads(n) bind(c, name='nn_set_num_threads')
      import
      integer(c_size_t), value :: n
      integer(c_int32_t) :: nn_set_num_threads
    end function nn_set_num_threads
    function nn_get_num_threads(n) bind(c, name='nn_get_num_threads')
      import
      integer(c_size_t), intent(out) :: n
      integer(c_int32_t) :: nn_get_num_threads
    end function nn_get_num_threads
    function nn_blas_name_c() bind(c, name='nn_blas_name')
      import
      type(c_ptr) :: nn_blas_name_c
    end function nn_blas_name_c
    function nn_blas_core_c() bind(c, name='nn_blas_core')
      import
      type(c_ptr) :: nn_blas_core_c
    end function nn_blas_core_c
    ! dense layer
    function nn_dense_create(out, n_in, n_out, act, act_param, alloc) &
        bind(c, name='nn_dense_create')
      import
      type(c_ptr), intent(out) :: out
      integer(c_size_t), value :: n_in
      integer(c_size_t), value :: n_out
      integer(c_int32_t), value :: act
      real(c_double), value :: act_param
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_dense_create
    end function nn_dense_create
    subroutine nn_dense_destroy(layer) bind(c, name='nn_dense_destroy')
      import
      type(c_ptr), value :: layer
    end subroutine nn_dense_destroy
    function nn_dense_n_in(layer) bind(c, name='nn_dense_n_in')
      import
      type(c_ptr), value :: layer
      integer(c_size_t) :: nn_dense_n_in
    end function nn_dense_n_in
    function nn_dense_n_out(layer) bind(c, name='nn_dense_n_out')
      import
      type(c_ptr), value :: layer
      integer(c_size_t) :: nn_dense_n_out
    end function nn_dense_n_out
    function nn_dense_reserve(layer, m_max) bind(c, name='nn_dense_reserve')
      import
      type(c_ptr), value :: layer
      integer(c_size_t), value :: m_max
      integer(c_int32_t) :: nn_dense_reserve
    end function nn_dense_reserve
    function nn_dense_forward(layer, m, order, X, ldx, A, lda) &
        bind(c, name='nn_dense_forward')
      import
      type(c_ptr), value :: layer
      integer(c_size_t), value :: m
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      real(c_double), intent(inout) :: A(*)
      integer(c_size_t), value :: lda
      integer(c_int32_t) :: nn_dense_forward
    end function nn_dense_forward
    function nn_dense_backward(layer, m, order, X, ldx, dA, ldda, dX, lddx) &
        bind(c, name='nn_dense_backward')
      import
      type(c_ptr), value :: layer
      integer(c_size_t), value :: m
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      real(c_double), intent(in) :: dA(*)
      integer(c_size_t), value :: ldda
      type(c_ptr), value :: dX
      integer(c_size_t), value :: lddx
      integer(c_int32_t) :: nn_dense_backward
    end function nn_dense_backward
    function nn_dense_get_params(layer, order, W, ldw, b) &
        bind(c, name='nn_dense_get_params')
      import
      type(c_ptr), value :: layer
      integer(c_int32_t), value :: order
      type(c_ptr), value :: W
      integer(c_size_t), value :: ldw
      type(c_ptr), value :: b
      integer(c_int32_t) :: nn_dense_get_params
    end function nn_dense_get_params
    function nn_dense_set_params(layer, order, W, ldw, b) &
        bind(c, name='nn_dense_set_params')
      import
      type(c_ptr), value :: layer
      integer(c_int32_t), value :: order
      type(c_ptr), value :: W
      integer(c_size_t), value :: ldw
      type(c_ptr), value :: b
      integer(c_int32_t) :: nn_dense_set_params
    end function nn_dense_set_params
    function nn_dense_get_grads(layer, order, dW, ldw, db) &
        bind(c, name='nn_dense_get_grads')
      import
      type(c_ptr), value :: layer
      integer(c_int32_t), value :: order
      type(c_ptr), value :: dW
      integer(c_size_t), value :: ldw
      type(c_ptr), value :: db
      integer(c_int32_t) :: nn_dense_get_grads
    end function nn_dense_get_grads
    function nn_dense_weights(layer) bind(c, name='nn_dense_weights')
      import
      type(c_ptr), value :: layer
      type(c_ptr) :: nn_dense_weights
    end function nn_dense_weights
    function nn_dense_bias(layer) bind(c, name='nn_dense_bias')
      import
      type(c_ptr), value :: layer
      type(c_ptr) :: nn_dense_bias
    end function nn_dense_bias
    function nn_dense_grad_weights(layer) bind(c, name='nn_dense_grad_weights')
      import
      type(c_ptr), value :: layer
      type(c_ptr) :: nn_dense_grad_weights
    end function nn_dense_grad_weights
    function nn_dense_grad_bias(layer) bind(c, name='nn_dense_grad_bias')
      import
      type(c_ptr), value :: layer
      type(c_ptr) :: nn_dense_grad_bias
    end function nn_dense_grad_bias
    ! network specification
    function nn_netspec_create(out, n_in, loss, alloc) &
        bind(c, name='nn_netspec_create')
      import
      type(c_ptr), intent(out) :: out
      integer(c_size_t), value :: n_in
      integer(c_int32_t), value :: loss
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_netspec_create
    end function nn_netspec_create
    function nn_netspec_from_net(out, net, alloc) &
        bind(c, name='nn_netspec_from_net')
      import
      type(c_ptr), intent(out) :: out
      type(c_ptr), value :: net
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_netspec_from_net
    end function nn_netspec_from_net
    subroutine nn_netspec_destroy(spec) bind(c, name='nn_netspec_destroy')
      import
      type(c_ptr), value :: spec
    end subroutine nn_netspec_destroy
    function nn_netspec_add_dense(spec, n_out, act) &
        bind(c, name='nn_netspec_add_dense')
      import
      type(c_ptr), value :: spec
      integer(c_size_t), value :: n_out
      integer(c_int32_t), value :: act
      integer(c_int32_t) :: nn_netspec_add_dense
    end function nn_netspec_add_dense
    function nn_netspec_n_layers(spec) bind(c, name='nn_netspec_n_layers')
      import
      type(c_ptr), value :: spec
      integer(c_size_t) :: nn_netspec_n_layers
    end function nn_netspec_n_layers
    function nn_netspec_set_int(spec, layer, key, value) &
        bind(c, name='nn_netspec_set_int')
      import
      type(c_ptr), value :: spec
      integer(c_size_t), value :: layer
      integer(c_int32_t), value :: key
      integer(c_int64_t), value :: value
      integer(c_int32_t) :: nn_netspec_set_int
    end function nn_netspec_set_int
    function nn_netspec_set_real(spec, layer, key, value) &
        bind(c, name='nn_netspec_set_real')
      import
      type(c_ptr), value :: spec
      integer(c_size_t), value :: layer
      integer(c_int32_t), value :: key
      real(c_double), value :: value
      integer(c_int32_t) :: nn_netspec_set_real
    end function nn_netspec_set_real
    ! network
    function nn_net_create(out, spec, alloc) bind(c, name='nn_net_create')
      import
      type(c_ptr), intent(out) :: out
      type(c_ptr), value :: spec
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_net_create
    end function nn_net_create
    function nn_net_clone(out, net, alloc) bind(c, name='nn_net_clone')
      import
      type(c_ptr), intent(out) :: out
      type(c_ptr), value :: net
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_net_clone
    end function nn_net_clone
    subroutine nn_net_destroy(net) bind(c, name='nn_net_destroy')
      import
      type(c_ptr), value :: net
    end subroutine nn_net_destroy
    function nn_net_n_in(net) bind(c, name='nn_net_n_in')
      import
      type(c_ptr), value :: net
      integer(c_size_t) :: nn_net_n_in
    end function nn_net_n_in
    function nn_net_n_out(net) bind(c, name='nn_net_n_out')
      import
      type(c_ptr), value :: net
      integer(c_size_t) :: nn_net_n_out
    end function nn_net_n_out
    function nn_net_n_layers(net) bind(c, name='nn_net_n_layers')
      import
      type(c_ptr), value :: net
      integer(c_size_t) :: nn_net_n_layers
    end function nn_net_n_layers
    function nn_net_layer_n_in(net, layer) bind(c, name='nn_net_layer_n_in')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: layer
      integer(c_size_t) :: nn_net_layer_n_in
    end function nn_net_layer_n_in
    function nn_net_layer_n_out(net, layer) bind(c, name='nn_net_layer_n_out')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: layer
      integer(c_size_t) :: nn_net_layer_n_out
    end function nn_net_layer_n_out
    function nn_net_n_params(net) bind(c, name='nn_net_n_params')
      import
      type(c_ptr), value :: net
      integer(c_size_t) :: nn_net_n_params
    end function nn_net_n_params
    function nn_net_set_int(net, key, value) bind(c, name='nn_net_set_int')
      import
      type(c_ptr), value :: net
      integer(c_int32_t), value :: key
      integer(c_int64_t), value :: value
      integer(c_int32_t) :: nn_net_set_int
    end function nn_net_set_int
    function nn_net_get_int(net, key, value) bind(c, name='nn_net_get_int')
      import
      type(c_ptr), value :: net
      integer(c_int32_t), value :: key
      integer(c_int64_t), intent(out) :: value
      integer(c_int32_t) :: nn_net_get_int
    end function nn_net_get_int
    function nn_net_get_layer_int(net, layer, key, value) &
        bind(c, name='nn_net_get_layer_int')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: layer
      integer(c_int32_t), value :: key
      integer(c_int64_t), intent(out) :: value
      integer(c_int32_t) :: nn_net_get_layer_int
    end function nn_net_get_layer_int
    function nn_net_get_layer_real(net, layer, key, value) &
        bind(c, name='nn_net_get_layer_real')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: layer
      integer(c_int32_t), value :: key
      real(c_double), intent(out) :: value
      integer(c_int32_t) :: nn_net_get_layer_real
    end function nn_net_get_layer_real
    function nn_net_init(net, init, seed) bind(c, name='nn_net_init')
      import
      type(c_ptr), value :: net
      integer(c_int32_t), value :: init
      integer(c_int64_t), value :: seed
      integer(c_int32_t) :: nn_net_init
    end function nn_net_init
    function nn_net_params(net) bind(c, name='nn_net_params')
      import
      type(c_ptr), value :: net
      type(c_ptr) :: nn_net_params
    end function nn_net_params
    function nn_net_grads(net) bind(c, name='nn_net_grads')
      import
      type(c_ptr), value :: net
      type(c_ptr) :: nn_net_grads
    end function nn_net_grads
    function nn_net_layer_offset(net, layer, w_offset, b_offset) &
        bind(c, name='nn_net_layer_offset')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: layer
      integer(c_size_t), intent(out) :: w_offset
      integer(c_size_t), intent(out) :: b_offset
      integer(c_int32_t) :: nn_net_layer_offset
    end function nn_net_layer_offset
    function nn_net_has_grads(net) bind(c, name='nn_net_has_grads')
      import
      type(c_ptr), value :: net
      integer(c_int32_t) :: nn_net_has_grads
    end function nn_net_has_grads
    function nn_net_set_grads(net, grad, len) bind(c, name='nn_net_set_grads')
      import
      type(c_ptr), value :: net
      real(c_double), intent(in) :: grad(*)
      integer(c_size_t), value :: len
      integer(c_int32_t) :: nn_net_set_grads
    end function nn_net_set_grads
    function nn_net_get_params(net, layer, order, W, ldw, b) &
        bind(c, name='nn_net_get_params')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: layer
      integer(c_int32_t), value :: order
      type(c_ptr), value :: W
      integer(c_size_t), value :: ldw
      type(c_ptr), value :: b
      integer(c_int32_t) :: nn_net_get_params
    end function nn_net_get_params
    function nn_net_set_params(net, layer, order, W, ldw, b) &
        bind(c, name='nn_net_set_params')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: layer
      integer(c_int32_t), value :: order
      type(c_ptr), value :: W
      integer(c_size_t), value :: ldw
      type(c_ptr), value :: b
      integer(c_int32_t) :: nn_net_set_params
    end function nn_net_set_params
    function nn_net_get_grads(net, layer, order, dW, ldw, db) &
        bind(c, name='nn_net_get_grads')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: layer
      integer(c_int32_t), value :: order
      type(c_ptr), value :: dW
      integer(c_size_t), value :: ldw
      type(c_ptr), value :: db
      integer(c_int32_t) :: nn_net_get_grads
    end function nn_net_get_grads
    ! contexts
    function nn_ctx_size(net, m_max, bytes) bind(c, name='nn_ctx_size')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: m_max
      integer(c_size_t), intent(out) :: bytes
      integer(c_int32_t) :: nn_ctx_size
    end function nn_ctx_size
    function nn_ctx_create(out, net, m_max, alloc) bind(c, name='nn_ctx_create')
      import
      type(c_ptr), intent(out) :: out
      type(c_ptr), value :: net
      integer(c_size_t), value :: m_max
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_ctx_create
    end function nn_ctx_create
    function nn_ctx_create_in(out, net, m_max, mem, bytes) &
        bind(c, name='nn_ctx_create_in')
      import
      type(c_ptr), intent(out) :: out
      type(c_ptr), value :: net
      integer(c_size_t), value :: m_max
      type(c_ptr), value :: mem
      integer(c_size_t), value :: bytes
      integer(c_int32_t) :: nn_ctx_create_in
    end function nn_ctx_create_in
    subroutine nn_ctx_destroy(ctx) bind(c, name='nn_ctx_destroy')
      import
      type(c_ptr), value :: ctx
    end subroutine nn_ctx_destroy
    function nn_ctx_capacity(ctx) bind(c, name='nn_ctx_capacity')
      import
      type(c_ptr), value :: ctx
      integer(c_size_t) :: nn_ctx_capacity
    end function nn_ctx_capacity
    ! inference
    function nn_net_predict(net, ctx, m, order, X, ldx, Y, ldy) &
        bind(c, name='nn_net_predict')
      import
      type(c_ptr), value :: net
      type(c_ptr), value :: ctx
      integer(c_size_t), value :: m
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      real(c_double), intent(inout) :: Y(*)
      integer(c_size_t), value :: ldy
      integer(c_int32_t) :: nn_net_predict
    end function nn_net_predict
    function nn_net_loss_c(net, ctx, m, order, X, ldx, Y, ldy, loss) &
        bind(c, name='nn_net_loss')
      import
      type(c_ptr), value :: net
      type(c_ptr), value :: ctx
      integer(c_size_t), value :: m
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      real(c_double), intent(in) :: Y(*)
      integer(c_size_t), value :: ldy
      real(c_double), intent(out) :: loss
      integer(c_int32_t) :: nn_net_loss_c
    end function nn_net_loss_c
    function nn_net_loss_labels(net, ctx, m, order, X, ldx, labels, loss) &
        bind(c, name='nn_net_loss_labels')
      import
      type(c_ptr), value :: net
      type(c_ptr), value :: ctx
      integer(c_size_t), value :: m
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      integer(c_int32_t), intent(in) :: labels(*)
      real(c_double), intent(out) :: loss
      integer(c_int32_t) :: nn_net_loss_labels
    end function nn_net_loss_labels
    ! training
    function nn_net_reserve(net, m_max) bind(c, name='nn_net_reserve')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: m_max
      integer(c_int32_t) :: nn_net_reserve
    end function nn_net_reserve
    function nn_net_gradient(net, m, order, X, ldx, Y, ldy, loss) &
        bind(c, name='nn_net_gradient')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: m
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      real(c_double), intent(in) :: Y(*)
      integer(c_size_t), value :: ldy
      type(c_ptr), value :: loss
      integer(c_int32_t) :: nn_net_gradient
    end function nn_net_gradient
    function nn_net_gradient_labels(net, m, order, X, ldx, labels, loss) &
        bind(c, name='nn_net_gradient_labels')
      import
      type(c_ptr), value :: net
      integer(c_size_t), value :: m
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      integer(c_int32_t), intent(in) :: labels(*)
      type(c_ptr), value :: loss
      integer(c_int32_t) :: nn_net_gradient_labels
    end function nn_net_gradient_labels
    ! optimizers
    function nn_optim_create(out, net, kind, alloc) &
        bind(c, name='nn_optim_create')
      import
      type(c_ptr), intent(out) :: out
      type(c_ptr), value :: net
      integer(c_int32_t), value :: kind
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_optim_create
    end function nn_optim_create
    subroutine nn_optim_destroy(opt) bind(c, name='nn_optim_destroy')
      import
      type(c_ptr), value :: opt
    end subroutine nn_optim_destroy
    function nn_optim_set_real(opt, key, value) &
        bind(c, name='nn_optim_set_real')
      import
      type(c_ptr), value :: opt
      integer(c_int32_t), value :: key
      real(c_double), value :: value
      integer(c_int32_t) :: nn_optim_set_real
    end function nn_optim_set_real
    function nn_optim_get_real(opt, key, value) &
        bind(c, name='nn_optim_get_real')
      import
      type(c_ptr), value :: opt
      integer(c_int32_t), value :: key
      real(c_double), intent(out) :: value
      integer(c_int32_t) :: nn_optim_get_real
    end function nn_optim_get_real
    function nn_optim_set_int(opt, key, value) bind(c, name='nn_optim_set_int')
      import
      type(c_ptr), value :: opt
      integer(c_int32_t), value :: key
      integer(c_int64_t), value :: value
      integer(c_int32_t) :: nn_optim_set_int
    end function nn_optim_set_int
    function nn_optim_get_int(opt, key, value) bind(c, name='nn_optim_get_int')
      import
      type(c_ptr), value :: opt
      integer(c_int32_t), value :: key
      integer(c_int64_t), intent(out) :: value
      integer(c_int32_t) :: nn_optim_get_int
    end function nn_optim_get_int
    function nn_optim_step(opt, net) bind(c, name='nn_optim_step')
      import
      type(c_ptr), value :: opt
      type(c_ptr), value :: net
      integer(c_int32_t) :: nn_optim_step
    end function nn_optim_step
    function nn_net_train_step(net, opt, m, order, X, ldx, Y, ldy, loss) &
        bind(c, name='nn_net_train_step')
      import
      type(c_ptr), value :: net
      type(c_ptr), value :: opt
      integer(c_size_t), value :: m
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      real(c_double), intent(in) :: Y(*)
      integer(c_size_t), value :: ldy
      type(c_ptr), value :: loss
      integer(c_int32_t) :: nn_net_train_step
    end function nn_net_train_step
    function nn_net_train_step_labels(net, opt, m, order, X, ldx, labels, loss) &
        bind(c, name='nn_net_train_step_labels')
      import
      type(c_ptr), value :: net
      type(c_ptr), value :: opt
      integer(c_size_t), value :: m
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      integer(c_int32_t), intent(in) :: labels(*)
      type(c_ptr), value :: loss
      integer(c_int32_t) :: nn_net_train_step_labels
    end function nn_net_train_step_labels
    function nn_optim_state_len(opt) bind(c, name='nn_optim_state_len')
      import
      type(c_ptr), value :: opt
      integer(c_size_t) :: nn_optim_state_len
    end function nn_optim_state_len
    function nn_optim_state_view(opt) bind(c, name='nn_optim_state_view')
      import
      type(c_ptr), value :: opt
      type(c_ptr) :: nn_optim_state_view
    end function nn_optim_state_view
    function nn_optim_get_state(opt, steps, state, len) &
        bind(c, name='nn_optim_get_state')
      import
      type(c_ptr), value :: opt
      integer(c_int64_t), intent(out) :: steps
      real(c_double), intent(inout) :: state(*)
      integer(c_size_t), value :: len
      integer(c_int32_t) :: nn_optim_get_state
    end function nn_optim_get_state
    function nn_optim_set_state(opt, steps, state, len) &
        bind(c, name='nn_optim_set_state')
      import
      type(c_ptr), value :: opt
      integer(c_int64_t), value :: steps
      real(c_double), intent(in) :: state(*)
      integer(c_size_t), value :: len
      integer(c_int32_t) :: nn_optim_set_state
    end function nn_optim_set_state
    ! data
    function nn_data_create(out, m, n, order, X, ldx, alloc) &
        bind(c, name='nn_data_create')
      import
      type(c_ptr), intent(out) :: out
      integer(c_size_t), value :: m
      integer(c_size_t), value :: n
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_data_create
    end function nn_data_create
    function nn_data_set_labels(data, labels) bind(c, name='nn_data_set_labels')
      import
      type(c_ptr), value :: data
      integer(c_int32_t), intent(in) :: labels(*)
      integer(c_int32_t) :: nn_data_set_labels
    end function nn_data_set_labels
    function nn_data_set_targets(data, k, order, Y, ldy) &
        bind(c, name='nn_data_set_targets')
      import
      type(c_ptr), value :: data
      integer(c_size_t), value :: k
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: Y(*)
      integer(c_size_t), value :: ldy
      integer(c_int32_t) :: nn_data_set_targets
    end function nn_data_set_targets
    function nn_data_take_targets(data, cols, k) &
        bind(c, name='nn_data_take_targets')
      import
      type(c_ptr), value :: data
      integer(c_size_t), intent(in) :: cols(*)
      integer(c_size_t), value :: k
      integer(c_int32_t) :: nn_data_take_targets
    end function nn_data_take_targets
    function nn_data_load_idx(out, path, alloc, err) &
        bind(c, name='nn_data_load_idx')
      import
      type(c_ptr), intent(out) :: out
      character(kind=c_char), intent(in) :: path(*)
      type(c_ptr), value :: alloc
      type(c_ptr), value :: err
      integer(c_int32_t) :: nn_data_load_idx
    end function nn_data_load_idx
    function nn_data_load_idx_labels(data, path, err) &
        bind(c, name='nn_data_load_idx_labels')
      import
      type(c_ptr), value :: data
      character(kind=c_char), intent(in) :: path(*)
      type(c_ptr), value :: err
      integer(c_int32_t) :: nn_data_load_idx_labels
    end function nn_data_load_idx_labels
    function nn_data_load_csv(out, path, header, label_col, alloc, err) &
        bind(c, name='nn_data_load_csv')
      import
      type(c_ptr), intent(out) :: out
      character(kind=c_char), intent(in) :: path(*)
      integer(c_int32_t), value :: header
      integer(c_size_t), value :: label_col
      type(c_ptr), value :: alloc
      type(c_ptr), value :: err
      integer(c_int32_t) :: nn_data_load_csv
    end function nn_data_load_csv
    function nn_data_read_csv(out, path, fmt, alloc, err) &
        bind(c, name='nn_data_read_csv')
      import
      type(c_ptr), intent(out) :: out
      character(kind=c_char), intent(in) :: path(*)
      type(nn_csv_format), intent(in) :: fmt
      type(c_ptr), value :: alloc
      type(c_ptr), value :: err
      integer(c_int32_t) :: nn_data_read_csv
    end function nn_data_read_csv
    function nn_data_name_c(data, kind, j) bind(c, name='nn_data_name')
      import
      type(c_ptr), value :: data
      integer(c_int32_t), value :: kind
      integer(c_size_t), value :: j
      type(c_ptr) :: nn_data_name_c
    end function nn_data_name_c
    subroutine nn_data_destroy(data) bind(c, name='nn_data_destroy')
      import
      type(c_ptr), value :: data
    end subroutine nn_data_destroy
    function nn_data_rows(data) bind(c, name='nn_data_rows')
      import
      type(c_ptr), value :: data
      integer(c_size_t) :: nn_data_rows
    end function nn_data_rows
    function nn_data_cols(data) bind(c, name='nn_data_cols')
      import
      type(c_ptr), value :: data
      integer(c_size_t) :: nn_data_cols
    end function nn_data_cols
    function nn_data_x(data) bind(c, name='nn_data_x')
      import
      type(c_ptr), value :: data
      type(c_ptr) :: nn_data_x
    end function nn_data_x
    function nn_data_labels(data) bind(c, name='nn_data_labels')
      import
      type(c_ptr), value :: data
      type(c_ptr) :: nn_data_labels
    end function nn_data_labels
    function nn_data_n_classes(data) bind(c, name='nn_data_n_classes')
      import
      type(c_ptr), value :: data
      integer(c_size_t) :: nn_data_n_classes
    end function nn_data_n_classes
    function nn_data_n_targets(data) bind(c, name='nn_data_n_targets')
      import
      type(c_ptr), value :: data
      integer(c_size_t) :: nn_data_n_targets
    end function nn_data_n_targets
    function nn_data_targets(data) bind(c, name='nn_data_targets')
      import
      type(c_ptr), value :: data
      type(c_ptr) :: nn_data_targets
    end function nn_data_targets
    function nn_data_one_hot(data, k, order, Y, ldy) &
        bind(c, name='nn_data_one_hot')
      import
      type(c_ptr), value :: data
      integer(c_size_t), value :: k
      integer(c_int32_t), value :: order
      real(c_double), intent(inout) :: Y(*)
      integer(c_size_t), value :: ldy
      integer(c_int32_t) :: nn_data_one_hot
    end function nn_data_one_hot
    function nn_data_labels_from_one_hot(data, first_col, k, err) &
        bind(c, name='nn_data_labels_from_one_hot')
      import
      type(c_ptr), value :: data
      integer(c_size_t), value :: first_col
      integer(c_size_t), value :: k
      type(c_ptr), value :: err
      integer(c_int32_t) :: nn_data_labels_from_one_hot
    end function nn_data_labels_from_one_hot
    ! scalers
    function nn_scaler_fit(out, kind, m, n, order, X, ldx, alloc) &
        bind(c, name='nn_scaler_fit')
      import
      type(c_ptr), intent(out) :: out
      integer(c_int32_t), value :: kind
      integer(c_size_t), value :: m
      integer(c_size_t), value :: n
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_scaler_fit
    end function nn_scaler_fit
    function nn_scaler_fit_data(out, kind, data, alloc) &
        bind(c, name='nn_scaler_fit_data')
      import
      type(c_ptr), intent(out) :: out
      integer(c_int32_t), value :: kind
      type(c_ptr), value :: data
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_scaler_fit_data
    end function nn_scaler_fit_data
    function nn_scaler_create(out, n, offset, scale, alloc) &
        bind(c, name='nn_scaler_create')
      import
      type(c_ptr), intent(out) :: out
      integer(c_size_t), value :: n
      real(c_double), intent(in) :: offset(*)
      real(c_double), intent(in) :: scale(*)
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_scaler_create
    end function nn_scaler_create
    subroutine nn_scaler_destroy(scaler) bind(c, name='nn_scaler_destroy')
      import
      type(c_ptr), value :: scaler
    end subroutine nn_scaler_destroy
    function nn_scaler_n(scaler) bind(c, name='nn_scaler_n')
      import
      type(c_ptr), value :: scaler
      integer(c_size_t) :: nn_scaler_n
    end function nn_scaler_n
    function nn_scaler_get_kind(scaler, kind) bind(c, name='nn_scaler_get_kind')
      import
      type(c_ptr), value :: scaler
      integer(c_int32_t), intent(out) :: kind
      integer(c_int32_t) :: nn_scaler_get_kind
    end function nn_scaler_get_kind
    function nn_scaler_get_params(scaler, offset, scale) &
        bind(c, name='nn_scaler_get_params')
      import
      type(c_ptr), value :: scaler
      type(c_ptr), value :: offset
      type(c_ptr), value :: scale
      integer(c_int32_t) :: nn_scaler_get_params
    end function nn_scaler_get_params
    function nn_scaler_apply(scaler, m, order, X, ld) &
        bind(c, name='nn_scaler_apply')
      import
      type(c_ptr), value :: scaler
      integer(c_size_t), value :: m
      integer(c_int32_t), value :: order
      real(c_double), intent(inout) :: X(*)
      integer(c_size_t), value :: ld
      integer(c_int32_t) :: nn_scaler_apply
    end function nn_scaler_apply
    function nn_scaler_invert(scaler, m, order, X, ld) &
        bind(c, name='nn_scaler_invert')
      import
      type(c_ptr), value :: scaler
      integer(c_size_t), value :: m
      integer(c_int32_t), value :: order
      real(c_double), intent(inout) :: X(*)
      integer(c_size_t), value :: ld
      integer(c_int32_t) :: nn_scaler_invert
    end function nn_scaler_invert
    function nn_scaler_apply_data(scaler, data) &
        bind(c, name='nn_scaler_apply_data')
      import
      type(c_ptr), value :: scaler
      type(c_ptr), value :: data
      integer(c_int32_t) :: nn_scaler_apply_data
    end function nn_scaler_apply_data
    function nn_net_set_scaler(net, role, scaler) &
        bind(c, name='nn_net_set_scaler')
      import
      type(c_ptr), value :: net
      integer(c_int32_t), value :: role
      type(c_ptr), value :: scaler
      integer(c_int32_t) :: nn_net_set_scaler
    end function nn_net_set_scaler
    function nn_net_get_scaler(net, role) bind(c, name='nn_net_get_scaler')
      import
      type(c_ptr), value :: net
      integer(c_int32_t), value :: role
      type(c_ptr) :: nn_net_get_scaler
    end function nn_net_get_scaler
    ! linear models
    function nn_lstsq(m, n, order, X, ldx, y, w, b) bind(c, name='nn_lstsq')
      import
      integer(c_size_t), value :: m
      integer(c_size_t), value :: n
      integer(c_int32_t), value :: order
      real(c_double), intent(in) :: X(*)
      integer(c_size_t), value :: ldx
      real(c_double), intent(in) :: y(*)
      real(c_double), intent(inout) :: w(*)
      type(c_ptr), value :: b
      integer(c_int32_t) :: nn_lstsq
    end function nn_lstsq
    ! metrics
    function nn_net_evaluate(net, ctx, data, n_metrics, metrics, values) &
        bind(c, name='nn_net_evaluate')
      import
      type(c_ptr), value :: net
      type(c_ptr), value :: ctx
      type(c_ptr), value :: data
      integer(c_size_t), value :: n_metrics
      integer(c_int32_t), intent(in) :: metrics(*)
      real(c_double), intent(inout) :: values(*)
      integer(c_int32_t) :: nn_net_evaluate
    end function nn_net_evaluate
    function nn_net_confusion(net, ctx, data, counts) &
        bind(c, name='nn_net_confusion')
      import
      type(c_ptr), value :: net
      type(c_ptr), value :: ctx
      type(c_ptr), value :: data
      integer(c_size_t), intent(inout) :: counts(*)
      integer(c_int32_t) :: nn_net_confusion
    end function nn_net_confusion
    ! trainer
    function nn_trainer_create(out, alloc) bind(c, name='nn_trainer_create')
      import
      type(c_ptr), intent(out) :: out
      type(c_ptr), value :: alloc
      integer(c_int32_t) :: nn_trainer_create
    end function nn_trainer_create
    subroutine nn_trainer_destroy(trainer) bind(c, name='nn_trainer_destroy')
      import
      type(c_ptr), value :: trainer
    end subroutine nn_trainer_destroy
    function nn_trainer_set_int(trainer, key, value) &
        bind(c, name='nn_trainer_set_int')
      import
      type(c_ptr), value :: trainer
      integer(c_int32_t), value :: key
      integer(c_int64_t), value :: value
      integer(c_int32_t) :: nn_trainer_set_int
    end function nn_trainer_set_int
    function nn_trainer_get_int(trainer, key, value) &
        bind(c, name='nn_trainer_get_int')
      import
      type(c_ptr), value :: trainer
      integer(c_int32_t), value :: key
      integer(c_int64_t), intent(out) :: value
      integer(c_int32_t) :: nn_trainer_get_int
    end function nn_trainer_get_int
    function nn_trainer_set_real(trainer, key, value) &
        bind(c, name='nn_trainer_set_real')
      import
      type(c_ptr), value :: trainer
      integer(c_int32_t), value :: key
      real(c_double), value :: value
      integer(c_int32_t) :: nn_trainer_set_real
    end function nn_trainer_set_real
    function nn_trainer_get_real(trainer, key, value) &
        bind(c, name='nn_trainer_get_real')
      import
      type(c_ptr), value :: trainer
      integer(c_int32_t), value :: key
      real(c_double), intent(out) :: value
      integer(c_int32_t) :: nn_trainer_get_real
    end function nn_trainer_get_real
    function nn_trainer_set_report(trainer, fn, ctx) &
        bind(c, name='nn_trainer_set_report')
      import
      type(c_ptr), value :: trainer
      type(c_funptr), value :: fn
      type(c_ptr), value :: ctx
      integer(c_int32_t) :: nn_trainer_set_report
    end function nn_trainer_set_report
    function nn_trainer_set_grad_hook(trainer, fn, ctx) &
        bind(c, name='nn_trainer_set_grad_hook')
      import
      type(c_ptr), value :: trainer
      type(c_funptr), value :: fn
      type(c_ptr), value :: ctx
      integer(c_int32_t) :: nn_trainer_set_grad_hook
    end function nn_trainer_set_grad_hook
    function nn_trainer_set_shards(trainer, index, count, allsum, ctx) &
        bind(c, name='nn_trainer_set_shards')
      import
      type(c_ptr), value :: trainer
      integer(c_size_t), value :: index
      integer(c_size_t), value :: count
      type(c_funptr), value :: allsum
      type(c_ptr), value :: ctx
      integer(c_int32_t) :: nn_trainer_set_shards
    end function nn_trainer_set_shards
    function nn_train(trainer, net, opt, train, val) bind(c, name='nn_train')
      import
      type(c_ptr), value :: trainer
      type(c_ptr), value :: net
      type(c_ptr), value :: opt
      type(c_ptr), value :: train
      type(c_ptr), value :: val
      integer(c_int32_t) :: nn_train
    end function nn_train
    ! model files
    function nn_model_save(path, net, opt, err) bind(c, name='nn_model_save')
      import
      character(kind=c_char), intent(in) :: path(*)
      type(c_ptr), value :: net
      type(c_ptr), value :: opt
      type(c_ptr), value :: err
      integer(c_int32_t) :: nn_model_save
    end function nn_model_save
    function nn_model_save_mem(net, opt, buf, cap, size) &
        bind(c, name='nn_model_save_mem')
      import
      type(c_ptr), value :: net
      type(c_ptr), value :: opt
      type(c_ptr), value :: buf
      integer(c_size_t), value :: cap
      integer(c_size_t), intent(out) :: size
      integer(c_int32_t) :: nn_model_save_mem
    end function nn_model_save_mem
    function nn_model_load(path, net, opt, alloc, err) &
        bind(c, name='nn_model_load')
      import
      character(kind=c_char), intent(in) :: path(*)
      type(c_ptr), intent(out) :: net
      type(c_ptr), value :: opt
      type(c_ptr), value :: alloc
      type(c_ptr), value :: err
      integer(c_int32_t) :: nn_model_load
    end function nn_model_load
    function nn_model_load_mem(buf, size, net, opt, alloc, err) &
        bind(c, name='nn_model_load_mem')
      import
      type(c_ptr), value :: buf
      integer(c_size_t), value :: size
      type(c_ptr), intent(out) :: net
      type(c_ptr), value :: opt
      type(c_ptr), value :: alloc
      type(c_ptr), value :: err
      integer(c_int32_t) :: nn_model_load_mem
    end function nn_model_load_mem
    function nn_checkpoint_save(path, net, opt, trainer, err) &
        bind(c, name='nn_checkpoint_save')
      import
      character(kind=c_char), intent(in) :: path(*)
      type(c_ptr), value :: net
      type(c_ptr), value :: opt
      type(c_ptr), value :: trainer
      type(c_ptr), value :: err
      integer(c_int32_t) :: nn_checkpoint_save
    end function nn_checkpoint_save
    function nn_checkpoint_save_mem(net, opt, trainer, buf, cap, size) &
        bind(c, name='nn_checkpoint_save_mem')
      import
      type(c_ptr), value :: net
      type(c_ptr), value :: opt
      type(c_ptr), value :: trainer
      type(c_ptr), value :: buf
      integer(c_size_t), value :: cap
      integer(c_size_t), intent(out) :: size
      integer(c_int32_t) :: nn_checkpoint_save_mem
    end function nn_checkpoint_save_mem
    function nn_checkpoint_load(path, net, opt, trainer, alloc, err) &
        bind(c, name='nn_checkpoint_load')
      import
      character(kind=c_char), intent(in) :: path(*)
      type(c_ptr), intent(out) :: net
      type(c_ptr), intent(out) :: opt
      type(c_ptr), value :: trainer
      type(c_ptr), value :: alloc
      type(c_ptr), value :: err
      integer(c_int32_t) :: nn_checkpoint_load
    end function nn_checkpoint_load
    function nn_checkpoint_load_mem(buf, size, net, opt, trainer, alloc, err) &
        bind(c, name='nn_checkpoint_load_mem')
      import
      type(c_ptr), value :: buf
      integer(c_size_t), value :: size
      type(c_ptr), intent(out) :: net
      type(c_ptr), intent(out) :: opt
      type(c_ptr), value :: trainer
      type(c_ptr), value :: alloc
      type(c_ptr), value :: err
      integer(c_int32_t) :: nn_checkpoint_load_mem
    end function nn_checkpoint_load_mem
    ! experimental (declared in nn.h only under NN_EXPERIMENTAL; exported)
    function nn_ctx_layer_output(ctx, layer) bind(c, name='nn_ctx_layer_output')
      import
      type(c_ptr), value :: ctx
      integer(c_size_t), value :: layer
      type(c_ptr) :: nn_ctx_layer_output
    end function nn_ctx_layer_output
  end interface

  ! ================================================================ wrappers
  ! The common part of every handle type: the C pointer, whether this
  ! variable owns it, and the guard against copies.
  type, abstract :: nn_handle
    type(c_ptr) :: ptr = c_null_ptr  ! the C handle (null: none)
    logical :: owned = .true.        ! .false.: borrowed, destroy only forgets
  contains
    procedure, non_overridable :: exists => handle_exists
    procedure, non_overridable :: adopt => handle_adopt
    procedure(handle_destroy), deferred :: destroy
    procedure, private, non_overridable :: handle_assign
    generic :: assignment(=) => handle_assign
  end type nn_handle

  abstract interface
    subroutine handle_destroy(this)
      import :: nn_handle
      class(nn_handle), intent(inout) :: this
    end subroutine handle_destroy
  end interface

  type, extends(nn_handle) :: nn_netspec
  contains
    procedure :: destroy => spec_destroy
    procedure :: create => spec_create
    procedure :: from_net => spec_from_net
    procedure :: add_dense => spec_add_dense
    procedure :: n_layers => spec_n_layers
    procedure, private :: spec_set_i32, spec_set_i64, spec_set_real
    generic :: set => spec_set_i32, spec_set_i64, spec_set_real
    final :: spec_final
  end type nn_netspec

  type, extends(nn_handle) :: nn_net
  contains
    procedure :: destroy => net_destroy
    procedure :: create => net_create
    procedure :: clone => net_clone
    procedure :: n_in => net_n_in
    procedure :: n_out => net_n_out
    procedure :: n_layers => net_n_layers
    procedure :: layer_n_in => net_layer_n_in
    procedure :: layer_n_out => net_layer_n_out
    procedure :: n_params => net_n_params
    procedure, private :: net_set_i32, net_set_i64, net_get_i32, net_get_i64
    generic :: set => net_set_i32, net_set_i64
    generic :: get => net_get_i32, net_get_i64
    procedure, private :: net_layer_i32, net_layer_i64, net_layer_real
    generic :: get_layer => net_layer_i32, net_layer_i64, net_layer_real
    procedure, private :: net_init_i32, net_init_i64
    generic :: init => net_init_i32, net_init_i64
    procedure :: params => net_params
    procedure :: grads => net_grads
    procedure :: layer_offset => net_layer_offset
    procedure :: has_grads => net_has_grads
    procedure :: set_grads => net_set_grads
    procedure :: get_params => net_get_params
    procedure :: set_params => net_set_params
    procedure :: get_grads => net_get_grads
    procedure :: ctx_size => net_ctx_size
    procedure :: predict => net_predict
    procedure, private :: net_loss_y, net_loss_labels
    generic :: loss => net_loss_y, net_loss_labels
    procedure :: reserve => net_reserve
    procedure, private :: net_gradient_y, net_gradient_labels
    generic :: gradient => net_gradient_y, net_gradient_labels
    procedure, private :: net_train_step_y, net_train_step_labels
    generic :: train_step => net_train_step_y, net_train_step_labels
    procedure :: evaluate => net_evaluate
    procedure :: confusion => net_confusion
    procedure :: set_scaler => net_set_scaler
    procedure :: get_scaler => net_get_scaler
    procedure :: save => net_save
    procedure :: load => net_load
    procedure :: save_mem => net_save_mem
    procedure :: load_mem => net_load_mem
    final :: net_final
  end type nn_net

  type, extends(nn_handle) :: nn_ctx
  contains
    procedure :: destroy => ctx_destroy
    procedure :: create => ctx_create
    procedure :: create_in => ctx_create_in
    procedure :: capacity => ctx_capacity
    final :: ctx_final
  end type nn_ctx

  type, extends(nn_handle) :: nn_optim
  contains
    procedure :: destroy => optim_destroy
    procedure :: create => optim_create
    procedure, private :: optim_set_i32, optim_set_i64, optim_set_real
    generic :: set => optim_set_i32, optim_set_i64, optim_set_real
    procedure, private :: optim_get_i32, optim_get_i64, optim_get_real
    generic :: get => optim_get_i32, optim_get_i64, optim_get_real
    procedure :: step => optim_step
    procedure :: state_len => optim_state_len
    procedure :: state_view => optim_state_view
    procedure :: get_state => optim_get_state
    procedure :: set_state => optim_set_state
    final :: optim_final
  end type nn_optim

  type, extends(nn_handle) :: nn_trainer
  contains
    procedure :: destroy => trainer_destroy
    procedure :: create => trainer_create
    procedure, private :: trainer_set_i32, trainer_set_i64, trainer_set_real
    generic :: set => trainer_set_i32, trainer_set_i64, trainer_set_real
    procedure, private :: trainer_get_i32, trainer_get_i64, trainer_get_real
    generic :: get => trainer_get_i32, trainer_get_i64, trainer_get_real
    procedure :: set_report => trainer_set_report
    procedure :: set_grad_hook => trainer_set_grad_hook
    procedure :: set_shards => trainer_set_shards
    procedure :: train => trainer_train
    procedure :: checkpoint_save => trainer_checkpoint_save
    procedure :: checkpoint_load => trainer_checkpoint_load
    procedure :: checkpoint_save_mem => trainer_checkpoint_save_mem
    procedure :: checkpoint_load_mem => trainer_checkpoint_load_mem
    final :: trainer_final
  end type nn_trainer

  type, extends(nn_handle) :: nn_data
  contains
    procedure :: destroy => data_destroy
    procedure :: create => data_create
    procedure :: set_labels => data_set_labels
    procedure :: set_targets => data_set_targets
    procedure :: take_targets => data_take_targets
    procedure :: load_idx => data_load_idx
    procedure :: load_idx_labels => data_load_idx_labels
    procedure :: load_csv => data_load_csv
    procedure :: read_csv => data_read_csv
    procedure :: name => data_name
    procedure :: rows => data_rows
    procedure :: cols => data_cols
    procedure :: x => data_x
    procedure :: labels => data_labels
    procedure :: n_classes => data_n_classes
    procedure :: n_targets => data_n_targets
    procedure :: targets => data_targets
    procedure :: one_hot => data_one_hot
    procedure :: labels_from_one_hot => data_labels_from_one_hot
    final :: data_final
  end type nn_data

  type, extends(nn_handle) :: nn_scaler
  contains
    procedure :: destroy => scaler_destroy
    procedure :: fit => scaler_fit
    procedure :: fit_data => scaler_fit_data
    procedure :: create => scaler_create
    procedure :: n => scaler_n
    procedure :: get_kind => scaler_get_kind
    procedure :: get_params => scaler_get_params
    procedure :: apply => scaler_apply
    procedure :: invert => scaler_invert
    procedure :: apply_data => scaler_apply_data
    final :: scaler_final
  end type nn_scaler

  type, extends(nn_handle) :: nn_dense
  contains
    procedure :: destroy => dense_destroy
    procedure :: create => dense_create
    procedure :: n_in => dense_n_in
    procedure :: n_out => dense_n_out
    procedure :: reserve => dense_reserve
    procedure :: forward => dense_forward
    procedure :: backward => dense_backward
    procedure :: get_params => dense_get_params
    procedure :: set_params => dense_set_params
    procedure :: get_grads => dense_get_grads
    procedure :: weights => dense_weights
    procedure :: bias => dense_bias
    procedure :: grad_weights => dense_grad_weights
    procedure :: grad_bias => dense_grad_bias
    final :: dense_final
  end type nn_dense

  ! Helpers, and the procedures behind the type-bound names: reached only
  ! through the handle types.
  private :: handle_destroy, ord, rows_of, cols_of, &
      ld_of, fits, sz, hptr, alloc_ptr, err_ptr, loc_or_null_0, loc_or_null_1, &
      loc_or_null_2, ld_opt, c_str, c_to_f, view_1, view_2, narrow, &
      net_batch_st, labels_st, params_st, handle_exists, handle_adopt, &
      handle_assign, spec_destroy, spec_final, net_destroy, net_final, &
      ctx_destroy, ctx_final, optim_destroy, optim_final, trainer_destroy, &
      trainer_final, data_destroy, data_final, scaler_destroy, scaler_final, &
      dense_destroy, dense_final, spec_create, spec_from_net, spec_add_dense, &
      spec_n_layers, spec_set_i64, spec_set_i32, spec_set_real, net_create, &
      net_clone, net_n_in, net_n_out, net_n_layers, net_layer_n_in, &
      net_layer_n_out, net_n_params, net_set_i64, net_set_i32, net_get_i64, &
      net_get_i32, net_layer_i64, net_layer_i32, net_layer_real, net_init_i64, &
      net_init_i32, net_params, net_grads, net_layer_offset, net_has_grads, &
      net_set_grads, net_get_params, net_set_params, net_get_grads, &
      net_ctx_size, net_predict, net_loss_y, net_loss_labels, net_reserve, &
      net_gradient_y, net_gradient_labels, net_train_step_y, &
      net_train_step_labels, net_evaluate, net_confusion, net_set_scaler, &
      net_get_scaler, net_save, net_load, net_save_mem, net_load_mem, &
      adopt_loaded, ctx_create, ctx_create_in, ctx_capacity, optim_create, &
      optim_set_i64, optim_set_i32, optim_set_real, optim_get_i64, &
      optim_get_i32, optim_get_real, optim_step, optim_state_len, &
      optim_state_view, optim_get_state, optim_set_state, trainer_create, &
      trainer_set_i64, trainer_set_i32, trainer_set_real, trainer_get_i64, &
      trainer_get_i32, trainer_get_real, trainer_set_report, &
      trainer_set_grad_hook, trainer_set_shards, trainer_train, &
      trainer_checkpoint_save, trainer_checkpoint_load, &
      trainer_checkpoint_save_mem, trainer_checkpoint_load_mem, data_create, &
      data_set_labels, data_set_targets, data_take_targets, data_load_idx, &
      data_load_idx_labels, data_load_csv, data_read_csv, data_name, data_rows, data_cols, data_x, &
      data_labels, data_n_classes, data_n_targets, data_targets, data_one_hot, &
      data_labels_from_one_hot, scaler_fit, scaler_fit_data, scaler_create, &
      scaler_n, scaler_get_kind, scaler_get_params, scaler_apply, &
      scaler_invert, scaler_apply_data, dense_create, dense_n_in, dense_n_out, &
      dense_reserve, dense_forward, dense_backward, dense_get_params, &
      dense_set_params, dense_get_grads, dense_weights, dense_bias, &
      dense_grad_weights, dense_grad_bias

contains

  ! ================================================================ helpers
  ! The order of a call's batch arguments: column-major unless told.
  pure function ord(order) result(o)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: o
    o = NN_COL_MAJOR
    if (present(order)) o = order
  end function ord

  ! Samples (rows of the C matrix) of a batch array: X(m, n) column-major,
  ! X(n, m) row-major (one sample per column).
  pure function rows_of(X, o) result(m)
    real(c_double), intent(in) :: X(:, :)
    integer(c_int32_t), intent(in) :: o
    integer(c_size_t) :: m
    m = size(X, merge(2, 1, o == NN_ROW_MAJOR), kind=c_size_t)
  end function rows_of

  ! Features (columns of the C matrix) of a batch array.
  pure function cols_of(X, o) result(n)
    real(c_double), intent(in) :: X(:, :)
    integer(c_int32_t), intent(in) :: o
    integer(c_size_t) :: n
    n = size(X, merge(1, 2, o == NN_ROW_MAJOR), kind=c_size_t)
  end function cols_of

  ! A contiguous array's leading dimension is its first extent in either
  ! order (at least 1: BLAS wants ld >= 1 even for an empty matrix).
  pure function ld_of(X) result(ld)
    real(c_double), intent(in) :: X(:, :)
    integer(c_size_t) :: ld
    ld = max(1_c_size_t, size(X, 1, kind=c_size_t))
  end function ld_of

  ! NN_OK when X is an m x n matrix under order o; an unknown order is
  ! NN_ERR_INVALID as in C, another shape NN_ERR_SHAPE (C cannot see it).
  pure function fits(X, o, m, n) result(st)
    real(c_double), intent(in) :: X(:, :)
    integer(c_int32_t), intent(in) :: o
    integer(c_size_t), intent(in) :: m, n
    integer(c_int32_t) :: st
    st = NN_OK
    if (o /= NN_ROW_MAJOR .and. o /= NN_COL_MAJOR) then
      st = NN_ERR_INVALID
    else if (rows_of(X, o) /= m .or. cols_of(X, o) /= n) then
      st = NN_ERR_SHAPE
    end if
  end function fits

  ! A default integer (layer number, size) as size_t.
  elemental function sz(i) result(s)
    integer, intent(in) :: i
    integer(c_size_t) :: s
    s = int(i, c_size_t)
  end function sz

  ! The C handle of an optional handle argument (NULL when absent).
  function hptr(h) result(p)
    class(nn_handle), intent(in), optional :: h
    type(c_ptr) :: p
    p = c_null_ptr
    if (present(h)) p = h%ptr
  end function hptr

  ! The allocator and error-info arguments: NULL when absent. The library
  ! copies the allocator and fills err during the call only.
  function alloc_ptr(alloc) result(p)
    type(nn_allocator), intent(in), optional, target :: alloc
    type(c_ptr) :: p
    p = c_null_ptr
    if (present(alloc)) p = c_loc(alloc)
  end function alloc_ptr

  function err_ptr(err) result(p)
    type(nn_error_info), intent(in), optional, target :: err
    type(c_ptr) :: p
    p = c_null_ptr
    if (present(err)) p = c_loc(err)
  end function err_ptr

  function loc_or_null_0(a) result(p)
    real(c_double), intent(in), optional, target :: a
    type(c_ptr) :: p
    p = c_null_ptr
    if (present(a)) p = c_loc(a)
  end function loc_or_null_0

  ! (c_loc needs a non-empty array; an empty one is passed as NULL, which
  ! the library refuses as it should.)
  function loc_or_null_1(a) result(p)
    real(c_double), intent(in), optional, target, contiguous :: a(:)
    type(c_ptr) :: p
    p = c_null_ptr
    if (present(a)) then
      if (size(a) > 0) p = c_loc(a)
    end if
  end function loc_or_null_1

  function loc_or_null_2(a) result(p)
    real(c_double), intent(in), optional, target, contiguous :: a(:, :)
    type(c_ptr) :: p
    p = c_null_ptr
    if (present(a)) then
      if (size(a) > 0) p = c_loc(a)
    end if
  end function loc_or_null_2

  ! Leading dimension of an optional matrix (C ignores it when W is NULL).
  function ld_opt(W) result(ld)
    real(c_double), intent(in), optional :: W(:, :)
    integer(c_size_t) :: ld
    ld = 1
    if (present(W)) ld = ld_of(W)
  end function ld_opt

  ! A Fortran string as a C string: trailing blanks dropped (a fixed-length
  ! CHARACTER variable pads its value with them), a NUL appended.
  pure function c_str(s) result(c)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=:), allocatable :: c
    c = trim(s) // c_null_char
  end function c_str

  ! A NUL-terminated C string (the library's static messages) as a Fortran
  ! string; '' for NULL.
  function c_to_f(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: c(:)
    integer :: i
    interface  ! here, not in the module: no global name of ours for it
      function c_strlen(str) bind(c, name='strlen')
        import :: c_ptr, c_size_t
        type(c_ptr), value :: str
        integer(c_size_t) :: c_strlen
      end function c_strlen
    end interface
    if (.not. c_associated(p)) then
      s = ''
      return
    end if
    call c_f_pointer(p, c, [c_strlen(p)])
    allocate(character(len=size(c)) :: s)
    do i = 1, size(c)
      s(i:i) = c(i)
    end do
  end function c_to_f

  ! Borrowed C arrays as Fortran pointers (null for a NULL pointer or an
  ! empty array). A row-major C matrix of m rows and n columns is the
  ! Fortran array (n, m).
  function view_1(p, n) result(v)
    type(c_ptr), intent(in) :: p
    integer(c_size_t), intent(in) :: n
    real(c_double), pointer :: v(:)
    v => null()
    if (c_associated(p) .and. n > 0) call c_f_pointer(p, v, [n])
  end function view_1

  function view_2(p, n1, n2) result(v)
    type(c_ptr), intent(in) :: p
    integer(c_size_t), intent(in) :: n1, n2
    real(c_double), pointer :: v(:, :)
    v => null()
    if (c_associated(p) .and. n1 * n2 > 0) call c_f_pointer(p, v, [n1, n2])
  end function view_2

  ! An int64 key value as int32 (enumerations, flags, counts); nothing is
  ! written and NN_ERR_TOO_LARGE returned when it does not fit.
  function narrow(st64, v64, v32) result(st)
    integer(c_int32_t), intent(in) :: st64
    integer(c_int64_t), intent(in) :: v64
    integer(c_int32_t), intent(inout) :: v32
    integer(c_int32_t) :: st
    st = st64
    if (st /= NN_OK) return
    if (v64 < -huge(v32) - 1_c_int64_t .or. v64 > huge(v32)) then
      st = NN_ERR_TOO_LARGE
    else
      v32 = int(v64, c_int32_t)
    end if
  end function narrow

  ! The checks the batch calls of a network share: X has n_in columns, Y
  ! (if given) n_out columns and X's rows.
  function net_batch_st(net, X, o, Y) result(st)
    type(c_ptr), intent(in) :: net
    real(c_double), intent(in) :: X(:, :)
    integer(c_int32_t), intent(in) :: o
    real(c_double), intent(in), optional :: Y(:, :)
    integer(c_int32_t) :: st
    st = NN_ERR_INVALID
    if (.not. c_associated(net)) return
    st = fits(X, o, rows_of(X, o), nn_net_n_in(net))
    if (st == NN_OK .and. present(Y)) &
      st = fits(Y, o, rows_of(X, o), nn_net_n_out(net))
  end function net_batch_st

  ! NN_OK when a labels array has one label per row of X.
  function labels_st(st0, labels, m) result(st)
    integer(c_int32_t), intent(in) :: st0
    integer(c_int32_t), intent(in) :: labels(:)
    integer(c_size_t), intent(in) :: m
    integer(c_int32_t) :: st
    st = st0
    if (st == NN_OK .and. size(labels, kind=c_size_t) /= m) st = NN_ERR_SHAPE
  end function labels_st

  ! Shape checks of a layer's W (n_in x n_out under o) and b (n_out).
  function params_st(n_in, n_out, o, W, b) result(st)
    integer(c_size_t), intent(in) :: n_in, n_out
    integer(c_int32_t), intent(in) :: o
    real(c_double), intent(in), optional :: W(:, :), b(:)
    integer(c_int32_t) :: st
    st = NN_ERR_INVALID
    if (n_in == 0 .or. .not. (present(W) .or. present(b))) return
    st = NN_OK
    if (present(W)) st = fits(W, o, n_in, n_out)
    if (st == NN_OK .and. present(b)) then
      if (size(b, kind=c_size_t) /= n_out) st = NN_ERR_SHAPE
    end if
  end function params_st

  ! ================================================================ free functions
  ! nn_strerror as a Fortran string.
  function nnf_strerror(status) result(s)
    integer(c_int32_t), intent(in) :: status
    character(len=:), allocatable :: s
    s = c_to_f(nn_strerror(status))
  end function nnf_strerror

  ! nn_version_string as a Fortran string (of the library actually loaded).
  function nnf_version_string() result(s)
    character(len=:), allocatable :: s
    s = c_to_f(nn_version_string_c())
  end function nnf_version_string

  ! A NUL-terminated C char array (nn_error_info's file and message) as a
  ! Fortran string.
  function nnf_string(chars) result(s)
    character(kind=c_char), intent(in) :: chars(:)
    character(len=:), allocatable :: s
    integer :: i, n
    n = size(chars)
    do i = 1, size(chars)
      if (chars(i) == c_null_char) then
        n = i - 1
        exit
      end if
    end do
    allocate(character(len=n) :: s)
    do i = 1, n
      s(i:i) = chars(i)
    end do
  end function nnf_string

  function nnf_set_num_threads(n) result(st)
    integer, intent(in) :: n
    integer(c_int32_t) :: st
    st = NN_ERR_INVALID
    if (n >= 1) st = nn_set_num_threads(sz(n))
  end function nnf_set_num_threads

  function nnf_get_num_threads(n) result(st)
    integer, intent(inout) :: n
    integer(c_int32_t) :: st
    integer(c_size_t) :: k
    st = nn_get_num_threads(k)
    if (st == NN_OK) n = int(k)
  end function nnf_get_num_threads

  ! nn_blas_name and nn_blas_core as Fortran strings.
  function nnf_blas_name() result(s)
    character(len=:), allocatable :: s
    s = c_to_f(nn_blas_name_c())
  end function nnf_blas_name

  function nnf_blas_core() result(s)
    character(len=:), allocatable :: s
    s = c_to_f(nn_blas_core_c())
  end function nnf_blas_core

  ! What a key takes (nn_param_info); every output is optional.
  function nnf_param_info(key, value_type, lo, hi, writable) result(st)
    integer(c_int32_t), intent(in) :: key
    integer(c_int32_t), intent(inout), optional :: value_type
    real(c_double), intent(inout), optional :: lo, hi
    logical, intent(inout), optional :: writable
    integer(c_int32_t) :: st
    integer(c_int32_t), target :: t, w
    real(c_double), target :: l, h
    st = nn_param_info(key, c_loc(t), c_loc(l), c_loc(h), c_loc(w))
    if (st /= NN_OK) return
    if (present(value_type)) value_type = t
    if (present(lo)) lo = l
    if (present(hi)) hi = h
    if (present(writable)) writable = w /= 0
  end function nnf_param_info

  ! Least squares y ~ X w + b (nn_lstsq); without b, no intercept.
  function nnf_lstsq(X, y, w, b, order) result(st)
    real(c_double), intent(in), contiguous :: X(:, :), y(:)
    real(c_double), intent(inout), contiguous :: w(:)
    real(c_double), intent(inout), optional, target :: b
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    integer(c_size_t) :: m, n
    o = ord(order)
    m = rows_of(X, o)
    n = cols_of(X, o)
    st = fits(X, o, m, n)
    if (st == NN_OK .and. (size(y, kind=c_size_t) /= m .or. &
        size(w, kind=c_size_t) /= n)) st = NN_ERR_SHAPE
    if (st == NN_OK) st = nn_lstsq(m, n, o, X, ld_of(X), y, w, loc_or_null_0(b))
  end function nnf_lstsq

  ! ================================================================ handles
  function handle_exists(this) result(yes)
    class(nn_handle), intent(in) :: this
    logical :: yes
    yes = c_associated(this%ptr)
  end function handle_exists

  ! Take ownership of a C handle (a new one, or one from a raw C call),
  ! destroying the object held before.
  subroutine handle_adopt(this, p)
    class(nn_handle), intent(inout) :: this
    type(c_ptr), intent(in) :: p
    call this%destroy()
    this%ptr = p
    this%owned = .true.
  end subroutine handle_adopt

  ! a = b would leave two owners of one C object, freed twice: refused.
  ! Assigning an empty handle only empties the left side.
  subroutine handle_assign(lhs, rhs)
    class(nn_handle), intent(inout) :: lhs
    class(nn_handle), intent(in) :: rhs
    if (c_associated(rhs%ptr)) &
      error stop 'nn: handles cannot be copied by assignment (nn_net: clone)'
    call lhs%destroy()
  end subroutine handle_assign

  ! ---------------------------------------------------------------- destroy
  ! One pair per type: destroy (explicit, idempotent) and the final
  ! procedure (elemental, so arrays of handles are finalized too).
  subroutine spec_destroy(this)
    class(nn_netspec), intent(inout) :: this
    if (this%owned) call nn_netspec_destroy(this%ptr)
    this%ptr = c_null_ptr
    this%owned = .true.
  end subroutine spec_destroy

  impure elemental subroutine spec_final(this)
    type(nn_netspec), intent(inout) :: this
    call this%destroy()
  end subroutine spec_final

  subroutine net_destroy(this)
    class(nn_net), intent(inout) :: this
    if (this%owned) call nn_net_destroy(this%ptr)
    this%ptr = c_null_ptr
    this%owned = .true.
  end subroutine net_destroy

  impure elemental subroutine net_final(this)
    type(nn_net), intent(inout) :: this
    call this%destroy()
  end subroutine net_final

  subroutine ctx_destroy(this)
    class(nn_ctx), intent(inout) :: this
    if (this%owned) call nn_ctx_destroy(this%ptr)
    this%ptr = c_null_ptr
    this%owned = .true.
  end subroutine ctx_destroy

  impure elemental subroutine ctx_final(this)
    type(nn_ctx), intent(inout) :: this
    call this%destroy()
  end subroutine ctx_final

  subroutine optim_destroy(this)
    class(nn_optim), intent(inout) :: this
    if (this%owned) call nn_optim_destroy(this%ptr)
    this%ptr = c_null_ptr
    this%owned = .true.
  end subroutine optim_destroy

  impure elemental subroutine optim_final(this)
    type(nn_optim), intent(inout) :: this
    call this%destroy()
  end subroutine optim_final

  subroutine trainer_destroy(this)
    class(nn_trainer), intent(inout) :: this
    if (this%owned) call nn_trainer_destroy(this%ptr)
    this%ptr = c_null_ptr
    this%owned = .true.
  end subroutine trainer_destroy

  impure elemental subroutine trainer_final(this)
    type(nn_trainer), intent(inout) :: this
    call this%destroy()
  end subroutine trainer_final

  subroutine data_destroy(this)
    class(nn_data), intent(inout) :: this
    if (this%owned) call nn_data_destroy(this%ptr)
    this%ptr = c_null_ptr
    this%owned = .true.
  end subroutine data_destroy

  impure elemental subroutine data_final(this)
    type(nn_data), intent(inout) :: this
    call this%destroy()
  end subroutine data_final

  subroutine scaler_destroy(this)
    class(nn_scaler), intent(inout) :: this
    if (this%owned) call nn_scaler_destroy(this%ptr)
    this%ptr = c_null_ptr
    this%owned = .true.
  end subroutine scaler_destroy

  impure elemental subroutine scaler_final(this)
    type(nn_scaler), intent(inout) :: this
    call this%destroy()
  end subroutine scaler_final

  subroutine dense_destroy(this)
    class(nn_dense), intent(inout) :: this
    if (this%owned) call nn_dense_destroy(this%ptr)
    this%ptr = c_null_ptr
    this%owned = .true.
  end subroutine dense_destroy

  impure elemental subroutine dense_final(this)
    type(nn_dense), intent(inout) :: this
    call this%destroy()
  end subroutine dense_final

  ! ================================================================ nn_netspec
  ! A spec of n_in inputs and a loss (NN_LOSS_*), no layers yet.
  function spec_create(this, n_in, loss, alloc) result(st)
    class(nn_netspec), intent(inout) :: this
    integer, intent(in) :: n_in
    integer(c_int32_t), intent(in) :: loss
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    st = nn_netspec_create(p, sz(n_in), loss, alloc_ptr(alloc))
    if (st == NN_OK) call this%adopt(p)
  end function spec_create

  ! The spec of an existing network (architecture and current settings).
  function spec_from_net(this, net, alloc) result(st)
    class(nn_netspec), intent(inout) :: this
    type(nn_net), intent(in) :: net
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    st = nn_netspec_from_net(p, net%ptr, alloc_ptr(alloc))
    if (st == NN_OK) call this%adopt(p)
  end function spec_from_net

  function spec_add_dense(this, n_out, act) result(st)
    class(nn_netspec), intent(inout) :: this
    integer, intent(in) :: n_out
    integer(c_int32_t), intent(in) :: act
    integer(c_int32_t) :: st
    st = nn_netspec_add_dense(this%ptr, sz(n_out), act)
  end function spec_add_dense

  function spec_n_layers(this) result(n)
    class(nn_netspec), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_netspec_n_layers(this%ptr)
  end function spec_n_layers

  ! A key of layer `layer` (NN_LAYER_*), or of the network (NN_NET_*) when
  ! layer is absent: the C call's NN_NET_WIDE.
  function spec_set_i64(this, key, value, layer) result(st)
    class(nn_netspec), intent(inout) :: this
    integer(c_int32_t), intent(in) :: key
    integer(c_int64_t), intent(in) :: value
    integer, intent(in), optional :: layer
    integer(c_int32_t) :: st
    integer(c_size_t) :: l
    l = NN_NET_WIDE
    if (present(layer)) l = sz(layer)
    st = nn_netspec_set_int(this%ptr, l, key, value)
  end function spec_set_i64

  function spec_set_i32(this, key, value, layer) result(st)
    class(nn_netspec), intent(inout) :: this
    integer(c_int32_t), intent(in) :: key, value
    integer, intent(in), optional :: layer
    integer(c_int32_t) :: st
    st = spec_set_i64(this, key, int(value, c_int64_t), layer)
  end function spec_set_i32

  function spec_set_real(this, key, value, layer) result(st)
    class(nn_netspec), intent(inout) :: this
    integer(c_int32_t), intent(in) :: key
    real(c_double), intent(in) :: value
    integer, intent(in), optional :: layer
    integer(c_int32_t) :: st
    integer(c_size_t) :: l
    l = NN_NET_WIDE
    if (present(layer)) l = sz(layer)
    st = nn_netspec_set_real(this%ptr, l, key, value)
  end function spec_set_real

  ! ================================================================ nn_net
  function net_create(this, spec, alloc) result(st)
    class(nn_net), intent(inout) :: this
    type(nn_netspec), intent(in) :: spec
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    st = nn_net_create(p, spec%ptr, alloc_ptr(alloc))
    if (st == NN_OK) call this%adopt(p)
  end function net_create

  ! A deep copy of this network in `copy` (the way to copy a handle).
  function net_clone(this, copy, alloc) result(st)
    class(nn_net), intent(in) :: this
    type(nn_net), intent(inout) :: copy
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    st = nn_net_clone(p, this%ptr, alloc_ptr(alloc))
    if (st == NN_OK) call copy%adopt(p)
  end function net_clone

  function net_n_in(this) result(n)
    class(nn_net), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_net_n_in(this%ptr)
  end function net_n_in

  function net_n_out(this) result(n)
    class(nn_net), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_net_n_out(this%ptr)
  end function net_n_out

  function net_n_layers(this) result(n)
    class(nn_net), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_net_n_layers(this%ptr)
  end function net_n_layers

  function net_layer_n_in(this, layer) result(n)
    class(nn_net), intent(in) :: this
    integer, intent(in) :: layer
    integer(c_size_t) :: n
    n = nn_net_layer_n_in(this%ptr, sz(layer))
  end function net_layer_n_in

  function net_layer_n_out(this, layer) result(n)
    class(nn_net), intent(in) :: this
    integer, intent(in) :: layer
    integer(c_size_t) :: n
    n = nn_net_layer_n_out(this%ptr, sz(layer))
  end function net_layer_n_out

  function net_n_params(this) result(n)
    class(nn_net), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_net_n_params(this%ptr)
  end function net_n_params

  ! Network keys (NN_NET_*); int32 or int64 values alike.
  function net_set_i64(this, key, value) result(st)
    class(nn_net), intent(inout) :: this
    integer(c_int32_t), intent(in) :: key
    integer(c_int64_t), intent(in) :: value
    integer(c_int32_t) :: st
    st = nn_net_set_int(this%ptr, key, value)
  end function net_set_i64

  function net_set_i32(this, key, value) result(st)
    class(nn_net), intent(inout) :: this
    integer(c_int32_t), intent(in) :: key, value
    integer(c_int32_t) :: st
    st = nn_net_set_int(this%ptr, key, int(value, c_int64_t))
  end function net_set_i32

  function net_get_i64(this, key, value) result(st)
    class(nn_net), intent(in) :: this
    integer(c_int32_t), intent(in) :: key
    integer(c_int64_t), intent(inout) :: value
    integer(c_int32_t) :: st
    integer(c_int64_t) :: v
    st = nn_net_get_int(this%ptr, key, v)
    if (st == NN_OK) value = v
  end function net_get_i64

  function net_get_i32(this, key, value) result(st)
    class(nn_net), intent(in) :: this
    integer(c_int32_t), intent(in) :: key
    integer(c_int32_t), intent(inout) :: value
    integer(c_int32_t) :: st
    integer(c_int64_t) :: v
    st = narrow(nn_net_get_int(this%ptr, key, v), v, value)
  end function net_get_i32

  ! A layer's keys (NN_LAYER_*), by value type.
  function net_layer_i64(this, layer, key, value) result(st)
    class(nn_net), intent(in) :: this
    integer, intent(in) :: layer
    integer(c_int32_t), intent(in) :: key
    integer(c_int64_t), intent(inout) :: value
    integer(c_int32_t) :: st
    integer(c_int64_t) :: v
    st = nn_net_get_layer_int(this%ptr, sz(layer), key, v)
    if (st == NN_OK) value = v
  end function net_layer_i64

  function net_layer_i32(this, layer, key, value) result(st)
    class(nn_net), intent(in) :: this
    integer, intent(in) :: layer
    integer(c_int32_t), intent(in) :: key
    integer(c_int32_t), intent(inout) :: value
    integer(c_int32_t) :: st
    integer(c_int64_t) :: v
    st = narrow(nn_net_get_layer_int(this%ptr, sz(layer), key, v), v, value)
  end function net_layer_i32

  function net_layer_real(this, layer, key, value) result(st)
    class(nn_net), intent(in) :: this
    integer, intent(in) :: layer
    integer(c_int32_t), intent(in) :: key
    real(c_double), intent(inout) :: value
    integer(c_int32_t) :: st
    real(c_double) :: v
    st = nn_net_get_layer_real(this%ptr, sz(layer), key, v)
    if (st == NN_OK) value = v
  end function net_layer_real

  ! Re-initialise the weights with scheme `init` (NN_INIT_*) from `seed`.
  function net_init_i64(this, init, seed) result(st)
    class(nn_net), intent(inout) :: this
    integer(c_int32_t), intent(in) :: init
    integer(c_int64_t), intent(in) :: seed
    integer(c_int32_t) :: st
    st = nn_net_init(this%ptr, init, seed)
  end function net_init_i64

  function net_init_i32(this, init, seed) result(st)
    class(nn_net), intent(inout) :: this
    integer(c_int32_t), intent(in) :: init, seed
    integer(c_int32_t) :: st
    st = nn_net_init(this%ptr, init, int(seed, c_int64_t))
  end function net_init_i32

  ! Borrowed, writable views of the flat parameter and gradient arrays
  ! (n_params values; per layer W row-major n_in x n_out, then b; offsets
  ! from layer_offset are 0-based: W starts at p(w_offset + 1)).
  function net_params(this) result(p)
    class(nn_net), intent(inout) :: this
    real(c_double), pointer :: p(:)
    p => view_1(nn_net_params(this%ptr), nn_net_n_params(this%ptr))
  end function net_params

  function net_grads(this) result(p)
    class(nn_net), intent(inout) :: this
    real(c_double), pointer :: p(:)
    p => view_1(nn_net_grads(this%ptr), nn_net_n_params(this%ptr))
  end function net_grads

  function net_layer_offset(this, layer, w_offset, b_offset) result(st)
    class(nn_net), intent(in) :: this
    integer, intent(in) :: layer
    integer(c_size_t), intent(inout) :: w_offset, b_offset
    integer(c_int32_t) :: st
    integer(c_size_t) :: w, b
    st = nn_net_layer_offset(this%ptr, sz(layer), w, b)
    if (st /= NN_OK) return
    w_offset = w
    b_offset = b
  end function net_layer_offset

  function net_has_grads(this) result(yes)
    class(nn_net), intent(in) :: this
    logical :: yes
    yes = nn_net_has_grads(this%ptr) /= 0
  end function net_has_grads

  ! Copy in a gradient (n_params values; may be grads() itself) and make it
  ! current.
  function net_set_grads(this, grad) result(st)
    class(nn_net), intent(inout) :: this
    real(c_double), intent(in), contiguous :: grad(:)
    integer(c_int32_t) :: st
    st = nn_net_set_grads(this%ptr, grad, size(grad, kind=c_size_t))
  end function net_set_grads

  ! One layer's W (n_in x n_out: W(n_in, n_out) column-major by default) and
  ! b (n_out), either optional; copies, so any layout is fine.
  function net_get_params(this, layer, W, b, order) result(st)
    class(nn_net), intent(in) :: this
    integer, intent(in) :: layer
    real(c_double), intent(inout), optional, target, contiguous :: W(:, :), b(:)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st
    st = params_st(nn_net_layer_n_in(this%ptr, sz(layer)), &
        nn_net_layer_n_out(this%ptr, sz(layer)), ord(order), W, b)
    if (st == NN_OK) st = nn_net_get_params(this%ptr, sz(layer), ord(order), &
        loc_or_null_2(W), ld_opt(W), loc_or_null_1(b))
  end function net_get_params

  function net_set_params(this, layer, W, b, order) result(st)
    class(nn_net), intent(inout) :: this
    integer, intent(in) :: layer
    real(c_double), intent(in), optional, target, contiguous :: W(:, :), b(:)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st
    st = params_st(nn_net_layer_n_in(this%ptr, sz(layer)), &
        nn_net_layer_n_out(this%ptr, sz(layer)), ord(order), W, b)
    if (st == NN_OK) st = nn_net_set_params(this%ptr, sz(layer), ord(order), &
        loc_or_null_2(W), ld_opt(W), loc_or_null_1(b))
  end function net_set_params

  function net_get_grads(this, layer, dW, db, order) result(st)
    class(nn_net), intent(in) :: this
    integer, intent(in) :: layer
    real(c_double), intent(inout), optional, target, contiguous :: dW(:, :), db(:)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st
    st = params_st(nn_net_layer_n_in(this%ptr, sz(layer)), &
        nn_net_layer_n_out(this%ptr, sz(layer)), ord(order), dW, db)
    if (st == NN_OK) st = nn_net_get_grads(this%ptr, sz(layer), ord(order), &
        loc_or_null_2(dW), ld_opt(dW), loc_or_null_1(db))
  end function net_get_grads

  ! Bytes a context of capacity m_max needs (for nn_ctx%create_in).
  function net_ctx_size(this, m_max, bytes) result(st)
    class(nn_net), intent(in) :: this
    integer, intent(in) :: m_max
    integer(c_size_t), intent(inout) :: bytes
    integer(c_int32_t) :: st
    integer(c_size_t) :: b
    st = nn_ctx_size(this%ptr, sz(m_max), b)
    if (st == NN_OK) bytes = b
  end function net_ctx_size

  ! Y = network(X): X(m, n_in) and Y(m, n_out), or X(n_in, m) and
  ! Y(n_out, m) with order = NN_ROW_MAJOR. Read-only on the network: any
  ! number of threads may call it on one net, each with its own ctx.
  function net_predict(this, X, Y, ctx, order) result(st)
    class(nn_net), intent(in) :: this
    real(c_double), intent(in), contiguous :: X(:, :)
    real(c_double), intent(inout), contiguous :: Y(:, :)
    type(nn_ctx), intent(inout), optional :: ctx
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    o = ord(order)
    st = net_batch_st(this%ptr, X, o, Y)
    if (st == NN_OK) st = nn_net_predict(this%ptr, hptr(ctx), rows_of(X, o), &
        o, X, ld_of(X), Y, ld_of(Y))
  end function net_predict

  ! Loss of a batch (in the net's reduction) with dense targets Y ...
  function net_loss_y(this, X, Y, loss, ctx, order) result(st)
    class(nn_net), intent(in) :: this
    real(c_double), intent(in), contiguous :: X(:, :), Y(:, :)
    real(c_double), intent(inout) :: loss
    type(nn_ctx), intent(inout), optional :: ctx
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    real(c_double) :: v
    o = ord(order)
    st = net_batch_st(this%ptr, X, o, Y)
    if (st == NN_OK) st = nn_net_loss_c(this%ptr, hptr(ctx), rows_of(X, o), &
        o, X, ld_of(X), Y, ld_of(Y), v)
    if (st == NN_OK) loss = v
  end function net_loss_y

  ! ... or with class labels (one per sample).
  function net_loss_labels(this, X, labels, loss, ctx, order) result(st)
    class(nn_net), intent(in) :: this
    real(c_double), intent(in), contiguous :: X(:, :)
    integer(c_int32_t), intent(in), contiguous :: labels(:)
    real(c_double), intent(inout) :: loss
    type(nn_ctx), intent(inout), optional :: ctx
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    real(c_double) :: v
    o = ord(order)
    st = labels_st(net_batch_st(this%ptr, X, o), labels, rows_of(X, o))
    if (st == NN_OK) st = nn_net_loss_labels(this%ptr, hptr(ctx), &
        rows_of(X, o), o, X, ld_of(X), labels, v)
    if (st == NN_OK) loss = v
  end function net_loss_labels

  function net_reserve(this, m_max) result(st)
    class(nn_net), intent(inout) :: this
    integer, intent(in) :: m_max
    integer(c_int32_t) :: st
    st = nn_net_reserve(this%ptr, sz(m_max))
  end function net_reserve

  ! Forward + backward on a batch: the gradient becomes current; the loss
  ! is optional.
  function net_gradient_y(this, X, Y, loss, order) result(st)
    class(nn_net), intent(inout) :: this
    real(c_double), intent(in), contiguous :: X(:, :), Y(:, :)
    real(c_double), intent(inout), optional, target :: loss
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    o = ord(order)
    st = net_batch_st(this%ptr, X, o, Y)
    if (st == NN_OK) st = nn_net_gradient(this%ptr, rows_of(X, o), o, X, &
        ld_of(X), Y, ld_of(Y), loc_or_null_0(loss))
  end function net_gradient_y

  function net_gradient_labels(this, X, labels, loss, order) result(st)
    class(nn_net), intent(inout) :: this
    real(c_double), intent(in), contiguous :: X(:, :)
    integer(c_int32_t), intent(in), contiguous :: labels(:)
    real(c_double), intent(inout), optional, target :: loss
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    o = ord(order)
    st = labels_st(net_batch_st(this%ptr, X, o), labels, rows_of(X, o))
    if (st == NN_OK) st = nn_net_gradient_labels(this%ptr, rows_of(X, o), o, &
        X, ld_of(X), labels, loc_or_null_0(loss))
  end function net_gradient_labels

  ! Gradient + optimizer step in one call (the loss before the step).
  function net_train_step_y(this, opt, X, Y, loss, order) result(st)
    class(nn_net), intent(inout) :: this
    type(nn_optim), intent(inout) :: opt
    real(c_double), intent(in), contiguous :: X(:, :), Y(:, :)
    real(c_double), intent(inout), optional, target :: loss
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    o = ord(order)
    st = net_batch_st(this%ptr, X, o, Y)
    if (st == NN_OK) st = nn_net_train_step(this%ptr, opt%ptr, rows_of(X, o), &
        o, X, ld_of(X), Y, ld_of(Y), loc_or_null_0(loss))
  end function net_train_step_y

  function net_train_step_labels(this, opt, X, labels, loss, order) result(st)
    class(nn_net), intent(inout) :: this
    type(nn_optim), intent(inout) :: opt
    real(c_double), intent(in), contiguous :: X(:, :)
    integer(c_int32_t), intent(in), contiguous :: labels(:)
    real(c_double), intent(inout), optional, target :: loss
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    o = ord(order)
    st = labels_st(net_batch_st(this%ptr, X, o), labels, rows_of(X, o))
    if (st == NN_OK) st = nn_net_train_step_labels(this%ptr, opt%ptr, &
        rows_of(X, o), o, X, ld_of(X), labels, loc_or_null_0(loss))
  end function net_train_step_labels

  ! Metrics (NN_METRIC_*) over a data set; values needs one slot per
  ! metric, n_out for each *_OUTPUTS key (checked: C cannot).
  function net_evaluate(this, data, metrics, values, ctx) result(st)
    class(nn_net), intent(in) :: this
    type(nn_data), intent(in) :: data
    integer(c_int32_t), intent(in), contiguous :: metrics(:)
    real(c_double), intent(inout), contiguous :: values(:)
    type(nn_ctx), intent(inout), optional :: ctx
    integer(c_int32_t) :: st
    integer(c_size_t) :: need
    need = size(metrics) + count(metrics == NN_METRIC_MSE_OUTPUTS .or. &
        metrics == NN_METRIC_MAE_OUTPUTS .or. metrics == NN_METRIC_R2_OUTPUTS) &
        * (nn_net_n_out(this%ptr) - 1)
    st = NN_ERR_SHAPE
    if (size(values, kind=c_size_t) < need) return
    st = nn_net_evaluate(this%ptr, hptr(ctx), data%ptr, &
        size(metrics, kind=c_size_t), metrics, values)
  end function net_evaluate

  ! Confusion matrix: counts(t+1, p+1) samples of true class t predicted as
  ! p; counts is k x k, k = n_out (2 for one output).
  function net_confusion(this, data, counts, ctx) result(st)
    class(nn_net), intent(in) :: this
    type(nn_data), intent(in) :: data
    integer(c_size_t), intent(inout) :: counts(:, :)
    type(nn_ctx), intent(inout), optional :: ctx
    integer(c_int32_t) :: st
    integer(c_size_t), allocatable :: c(:, :)
    integer(c_size_t) :: k
    k = max(2_c_size_t, nn_net_n_out(this%ptr))
    st = NN_ERR_SHAPE
    if (size(counts, 1, c_size_t) /= k .or. size(counts, 2, c_size_t) /= k) return
    allocate(c(k, k))  ! the C layout counts[t*k + p] is c(p+1, t+1)
    st = nn_net_confusion(this%ptr, hptr(ctx), data%ptr, c)
    if (st == NN_OK) counts = transpose(c)
  end function net_confusion

  ! Attach a copy of scaler under role (NN_SCALER_*); absent: remove it.
  function net_set_scaler(this, role, scaler) result(st)
    class(nn_net), intent(inout) :: this
    integer(c_int32_t), intent(in) :: role
    type(nn_scaler), intent(in), optional :: scaler
    integer(c_int32_t) :: st
    st = nn_net_set_scaler(this%ptr, role, hptr(scaler))
  end function net_set_scaler

  ! The scaler under role, borrowed (scaler%exists() is .false. if none):
  ! valid while the network lives and the scaler is not replaced.
  subroutine net_get_scaler(this, role, scaler)
    class(nn_net), intent(in) :: this
    integer(c_int32_t), intent(in) :: role
    type(nn_scaler), intent(inout) :: scaler
    call scaler%destroy()
    scaler%ptr = nn_net_get_scaler(this%ptr, role)
    scaler%owned = .false.
  end subroutine net_get_scaler

  ! ---------------------------------------------------------------- model files
  ! Save the network (and opt, if given) to path; see nn_model_save.
  function net_save(this, path, opt, err) result(st)
    class(nn_net), intent(in) :: this
    character(len=*), intent(in) :: path
    type(nn_optim), intent(in), optional :: opt
    type(nn_error_info), intent(inout), optional, target :: err
    integer(c_int32_t) :: st
    st = nn_model_save(c_str(path), this%ptr, hptr(opt), err_ptr(err))
  end function net_save

  ! Replace this network by the one in path; with opt, also take the file's
  ! optimizer (opt%exists() is .false. if the file holds none).
  function net_load(this, path, opt, alloc, err) result(st)
    class(nn_net), intent(inout) :: this
    character(len=*), intent(in) :: path
    type(nn_optim), intent(inout), optional :: opt
    type(nn_allocator), intent(in), optional, target :: alloc
    type(nn_error_info), intent(inout), optional, target :: err
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    type(c_ptr), target :: o
    o = c_null_ptr
    if (present(opt)) then
      st = nn_model_load(c_str(path), p, c_loc(o), alloc_ptr(alloc), err_ptr(err))
    else
      st = nn_model_load(c_str(path), p, c_null_ptr, alloc_ptr(alloc), err_ptr(err))
    end if
    if (st == NN_OK) call adopt_loaded(this, p, o, opt)
  end function net_load

  ! The model as bytes in buf (allocated to its size; untouched on failure).
  function net_save_mem(this, buf, opt) result(st)
    class(nn_net), intent(in) :: this
    integer(c_int8_t), allocatable, intent(inout) :: buf(:)
    type(nn_optim), intent(in), optional :: opt
    integer(c_int32_t) :: st
    integer(c_int8_t), allocatable, target :: tmp(:)
    integer(c_size_t) :: need, n
    st = nn_model_save_mem(this%ptr, hptr(opt), c_null_ptr, 0_c_size_t, need)
    if (st /= NN_OK) return
    allocate(tmp(need))
    st = nn_model_save_mem(this%ptr, hptr(opt), c_loc(tmp), need, n)
    if (st == NN_OK) call move_alloc(tmp, buf)
  end function net_save_mem

  function net_load_mem(this, buf, opt, alloc, err) result(st)
    class(nn_net), intent(inout) :: this
    integer(c_int8_t), intent(in), target, contiguous :: buf(:)
    type(nn_optim), intent(inout), optional :: opt
    type(nn_allocator), intent(in), optional, target :: alloc
    type(nn_error_info), intent(inout), optional, target :: err
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    type(c_ptr), target :: o
    o = c_null_ptr
    st = NN_ERR_FORMAT  ! an empty buffer, as the C call reports it
    if (size(buf) == 0) return
    if (present(opt)) then
      st = nn_model_load_mem(c_loc(buf), size(buf, kind=c_size_t), p, c_loc(o), &
          alloc_ptr(alloc), err_ptr(err))
    else
      st = nn_model_load_mem(c_loc(buf), size(buf, kind=c_size_t), p, &
          c_null_ptr, alloc_ptr(alloc), err_ptr(err))
    end if
    if (st == NN_OK) call adopt_loaded(this, p, o, opt)
  end function net_load_mem

  subroutine adopt_loaded(net, p, o, opt)
    class(nn_net), intent(inout) :: net
    type(c_ptr), intent(in) :: p, o
    type(nn_optim), intent(inout), optional :: opt
    call net%adopt(p)
    if (present(opt)) call opt%adopt(o)
  end subroutine adopt_loaded

  ! ================================================================ nn_ctx
  ! A context for batches of up to m_max rows: one per thread.
  function ctx_create(this, net, m_max, alloc) result(st)
    class(nn_ctx), intent(inout) :: this
    type(nn_net), intent(in) :: net
    integer, intent(in) :: m_max
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    st = nn_ctx_create(p, net%ptr, sz(m_max), alloc_ptr(alloc))
    if (st == NN_OK) call this%adopt(p)
  end function ctx_create

  ! A context placed in caller memory (e.g. a solver's work array): mem
  ! must hold net%ctx_size(m_max) bytes and outlive the context.
  function ctx_create_in(this, net, m_max, mem) result(st)
    class(nn_ctx), intent(inout) :: this
    type(nn_net), intent(in) :: net
    integer, intent(in) :: m_max
    real(c_double), intent(inout), target, contiguous :: mem(:)
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    st = NN_ERR_SHAPE
    if (size(mem) == 0) return
    st = nn_ctx_create_in(p, net%ptr, sz(m_max), c_loc(mem), &
        size(mem, kind=c_size_t) * c_sizeof(mem(1)))
    if (st == NN_OK) call this%adopt(p)
  end function ctx_create_in

  function ctx_capacity(this) result(n)
    class(nn_ctx), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_ctx_capacity(this%ptr)
  end function ctx_capacity

  ! ================================================================ nn_optim
  ! An optimizer of kind (NN_OPTIM_*) for networks shaped like net.
  function optim_create(this, net, kind, alloc) result(st)
    class(nn_optim), intent(inout) :: this
    type(nn_net), intent(in) :: net
    integer(c_int32_t), intent(in) :: kind
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    st = nn_optim_create(p, net%ptr, kind, alloc_ptr(alloc))
    if (st == NN_OK) call this%adopt(p)
  end function optim_create

  function optim_set_i64(this, key, value) result(st)
    class(nn_optim), intent(inout) :: this
    integer(c_int32_t), intent(in) :: key
    integer(c_int64_t), intent(in) :: value
    integer(c_int32_t) :: st
    st = nn_optim_set_int(this%ptr, key, value)
  end function optim_set_i64

  function optim_set_i32(this, key, value) result(st)
    class(nn_optim), intent(inout) :: this
    integer(c_int32_t), intent(in) :: key, value
    integer(c_int32_t) :: st
    st = nn_optim_set_int(this%ptr, key, int(value, c_int64_t))
  end function optim_set_i32

  function optim_set_real(this, key, value) result(st)
    class(nn_optim), intent(inout) :: this
    integer(c_int32_t), intent(in) :: key
    real(c_double), intent(in) :: value
    integer(c_int32_t) :: st
    st = nn_optim_set_real(this%ptr, key, value)
  end function optim_set_real

  function optim_get_i64(this, key, value) result(st)
    class(nn_optim), intent(in) :: this
    integer(c_int32_t), intent(in) :: key
    integer(c_int64_t), intent(inout) :: value
    integer(c_int32_t) :: st
    integer(c_int64_t) :: v
    st = nn_optim_get_int(this%ptr, key, v)
    if (st == NN_OK) value = v
  end function optim_get_i64

  function optim_get_i32(this, key, value) result(st)
    class(nn_optim), intent(in) :: this
    integer(c_int32_t), intent(in) :: key
    integer(c_int32_t), intent(inout) :: value
    integer(c_int32_t) :: st
    integer(c_int64_t) :: v
    st = narrow(nn_optim_get_int(this%ptr, key, v), v, value)
  end function optim_get_i32

  function optim_get_real(this, key, value) result(st)
    class(nn_optim), intent(in) :: this
    integer(c_int32_t), intent(in) :: key
    real(c_double), intent(inout) :: value
    integer(c_int32_t) :: st
    real(c_double) :: v
    st = nn_optim_get_real(this%ptr, key, v)
    if (st == NN_OK) value = v
  end function optim_get_real

  ! THE update: net's parameters from its current gradient.
  function optim_step(this, net) result(st)
    class(nn_optim), intent(inout) :: this
    type(nn_net), intent(inout) :: net
    integer(c_int32_t) :: st
    st = nn_optim_step(this%ptr, net%ptr)
  end function optim_step

  function optim_state_len(this) result(n)
    class(nn_optim), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_optim_state_len(this%ptr)
  end function optim_state_len

  ! Borrowed view of the state (read it only); null for SGD (no state).
  function optim_state_view(this) result(p)
    class(nn_optim), intent(in) :: this
    real(c_double), pointer :: p(:)
    p => view_1(nn_optim_state_view(this%ptr), nn_optim_state_len(this%ptr))
  end function optim_state_view

  ! The step count and the state (size(state) == state_len()).
  function optim_get_state(this, steps, state) result(st)
    class(nn_optim), intent(in) :: this
    integer(c_int64_t), intent(inout) :: steps
    real(c_double), intent(inout), contiguous :: state(:)
    integer(c_int32_t) :: st
    integer(c_int64_t) :: s
    st = nn_optim_get_state(this%ptr, s, state, size(state, kind=c_size_t))
    if (st == NN_OK) steps = s
  end function optim_get_state

  function optim_set_state(this, steps, state) result(st)
    class(nn_optim), intent(inout) :: this
    integer(c_int64_t), intent(in) :: steps
    real(c_double), intent(in), contiguous :: state(:)
    integer(c_int32_t) :: st
    st = nn_optim_set_state(this%ptr, steps, state, size(state, kind=c_size_t))
  end function optim_set_state

  ! ================================================================ nn_trainer
  function trainer_create(this, alloc) result(st)
    class(nn_trainer), intent(inout) :: this
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    st = nn_trainer_create(p, alloc_ptr(alloc))
    if (st == NN_OK) call this%adopt(p)
  end function trainer_create

  ! Settings (NN_TRAIN_*) and, get only, the results of the last run.
  function trainer_set_i64(this, key, value) result(st)
    class(nn_trainer), intent(inout) :: this
    integer(c_int32_t), intent(in) :: key
    integer(c_int64_t), intent(in) :: value
    integer(c_int32_t) :: st
    st = nn_trainer_set_int(this%ptr, key, value)
  end function trainer_set_i64

  function trainer_set_i32(this, key, value) result(st)
    class(nn_trainer), intent(inout) :: this
    integer(c_int32_t), intent(in) :: key, value
    integer(c_int32_t) :: st
    st = nn_trainer_set_int(this%ptr, key, int(value, c_int64_t))
  end function trainer_set_i32

  function trainer_set_real(this, key, value) result(st)
    class(nn_trainer), intent(inout) :: this
    integer(c_int32_t), intent(in) :: key
    real(c_double), intent(in) :: value
    integer(c_int32_t) :: st
    st = nn_trainer_set_real(this%ptr, key, value)
  end function trainer_set_real

  function trainer_get_i64(this, key, value) result(st)
    class(nn_trainer), intent(in) :: this
    integer(c_int32_t), intent(in) :: key
    integer(c_int64_t), intent(inout) :: value
    integer(c_int32_t) :: st
    integer(c_int64_t) :: v
    st = nn_trainer_get_int(this%ptr, key, v)
    if (st == NN_OK) value = v
  end function trainer_get_i64

  function trainer_get_i32(this, key, value) result(st)
    class(nn_trainer), intent(in) :: this
    integer(c_int32_t), intent(in) :: key
    integer(c_int32_t), intent(inout) :: value
    integer(c_int32_t) :: st
    integer(c_int64_t) :: v
    st = narrow(nn_trainer_get_int(this%ptr, key, v), v, value)
  end function trainer_get_i32

  function trainer_get_real(this, key, value) result(st)
    class(nn_trainer), intent(in) :: this
    integer(c_int32_t), intent(in) :: key
    real(c_double), intent(inout) :: value
    integer(c_int32_t) :: st
    real(c_double) :: v
    st = nn_trainer_get_real(this%ptr, key, v)
    if (st == NN_OK) value = v
  end function trainer_get_real

  ! The report callback (absent: none); ctx comes back to it unchanged.
  function trainer_set_report(this, fn, ctx) result(st)
    class(nn_trainer), intent(inout) :: this
    procedure(nn_report_fn), optional :: fn
    type(c_ptr), intent(in), optional :: ctx
    integer(c_int32_t) :: st
    type(c_funptr) :: f
    type(c_ptr) :: c
    f = c_null_funptr
    c = c_null_ptr
    if (present(fn)) f = c_funloc(fn)
    if (present(ctx)) c = ctx
    st = nn_trainer_set_report(this%ptr, f, c)
  end function trainer_set_report

  ! The gradient hook (absent: none).
  function trainer_set_grad_hook(this, fn, ctx) result(st)
    class(nn_trainer), intent(inout) :: this
    procedure(nn_grad_hook_fn), optional :: fn
    type(c_ptr), intent(in), optional :: ctx
    integer(c_int32_t) :: st
    type(c_funptr) :: f
    type(c_ptr) :: c
    f = c_null_funptr
    c = c_null_ptr
    if (present(fn)) f = c_funloc(fn)
    if (present(ctx)) c = ctx
    st = nn_trainer_set_grad_hook(this%ptr, f, c)
  end function trainer_set_grad_hook

  ! Shard `index` (0-based) of `count` of a data-parallel run around the
  ! collective sum `allsum`; (0, 1) without allsum switches sharding off.
  function trainer_set_shards(this, index, count, allsum, ctx) result(st)
    class(nn_trainer), intent(inout) :: this
    integer, intent(in) :: index, count
    procedure(nn_allsum_fn), optional :: allsum
    type(c_ptr), intent(in), optional :: ctx
    integer(c_int32_t) :: st
    type(c_funptr) :: f
    type(c_ptr) :: c
    f = c_null_funptr
    c = c_null_ptr
    if (present(allsum)) f = c_funloc(allsum)
    if (present(ctx)) c = ctx
    st = NN_ERR_INVALID
    if (index >= 0 .and. count >= 1) &
      st = nn_trainer_set_shards(this%ptr, sz(index), sz(count), f, c)
  end function trainer_set_shards

  ! Train net with opt on `train`, validating on val if given.
  function trainer_train(this, net, opt, train, val) result(st)
    class(nn_trainer), intent(inout) :: this
    type(nn_net), intent(inout) :: net
    type(nn_optim), intent(inout) :: opt
    type(nn_data), intent(in) :: train
    type(nn_data), intent(in), optional :: val
    integer(c_int32_t) :: st
    st = nn_train(this%ptr, net%ptr, opt%ptr, train%ptr, hptr(val))
  end function trainer_train

  ! A checkpoint of net, opt and this trainer's progress (of the run in
  ! progress when called from its report callback); see nn_checkpoint_save.
  function trainer_checkpoint_save(this, path, net, opt, err) result(st)
    class(nn_trainer), intent(in) :: this
    character(len=*), intent(in) :: path
    type(nn_net), intent(in) :: net
    type(nn_optim), intent(in) :: opt
    type(nn_error_info), intent(inout), optional, target :: err
    integer(c_int32_t) :: st
    st = nn_checkpoint_save(c_str(path), net%ptr, opt%ptr, this%ptr, &
        err_ptr(err))
  end function trainer_checkpoint_save

  ! Replace net and opt by a checkpoint's, and this trainer's progress by
  ! its progress (the settings stay: set them, then NN_TRAIN_RESUME).
  function trainer_checkpoint_load(this, path, net, opt, alloc, err) result(st)
    class(nn_trainer), intent(inout) :: this
    character(len=*), intent(in) :: path
    type(nn_net), intent(inout) :: net
    type(nn_optim), intent(inout) :: opt
    type(nn_allocator), intent(in), optional, target :: alloc
    type(nn_error_info), intent(inout), optional, target :: err
    integer(c_int32_t) :: st
    type(c_ptr) :: p, o
    st = nn_checkpoint_load(c_str(path), p, o, this%ptr, alloc_ptr(alloc), &
        err_ptr(err))
    if (st == NN_OK) call adopt_loaded(net, p, o, opt)
  end function trainer_checkpoint_load

  ! The checkpoint as bytes in buf (allocated to its size; untouched on
  ! failure).
  function trainer_checkpoint_save_mem(this, buf, net, opt) result(st)
    class(nn_trainer), intent(in) :: this
    integer(c_int8_t), allocatable, intent(inout) :: buf(:)
    type(nn_net), intent(in) :: net
    type(nn_optim), intent(in) :: opt
    integer(c_int32_t) :: st
    integer(c_int8_t), allocatable, target :: tmp(:)
    integer(c_size_t) :: need, n
    st = nn_checkpoint_save_mem(net%ptr, opt%ptr, this%ptr, c_null_ptr, &
        0_c_size_t, need)
    if (st /= NN_OK) return
    allocate(tmp(need))
    st = nn_checkpoint_save_mem(net%ptr, opt%ptr, this%ptr, c_loc(tmp), need, n)
    if (st == NN_OK) call move_alloc(tmp, buf)
  end function trainer_checkpoint_save_mem

  function trainer_checkpoint_load_mem(this, buf, net, opt, alloc, err) &
      result(st)
    class(nn_trainer), intent(inout) :: this
    integer(c_int8_t), intent(in), target, contiguous :: buf(:)
    type(nn_net), intent(inout) :: net
    type(nn_optim), intent(inout) :: opt
    type(nn_allocator), intent(in), optional, target :: alloc
    type(nn_error_info), intent(inout), optional, target :: err
    integer(c_int32_t) :: st
    type(c_ptr) :: p, o
    st = NN_ERR_FORMAT  ! an empty buffer, as the C call reports it
    if (size(buf) == 0) return
    st = nn_checkpoint_load_mem(c_loc(buf), size(buf, kind=c_size_t), p, o, &
        this%ptr, alloc_ptr(alloc), err_ptr(err))
    if (st == NN_OK) call adopt_loaded(net, p, o, opt)
  end function trainer_checkpoint_load_mem

  ! ================================================================ nn_data
  ! A data set from a copy of X: X(m, n), or X(n, m) with NN_ROW_MAJOR.
  function data_create(this, X, order, alloc) result(st)
    class(nn_data), intent(inout) :: this
    real(c_double), intent(in), contiguous :: X(:, :)
    integer(c_int32_t), intent(in), optional :: order
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st, o
    type(c_ptr) :: p
    o = ord(order)
    st = fits(X, o, rows_of(X, o), cols_of(X, o))
    if (st == NN_OK) st = nn_data_create(p, rows_of(X, o), cols_of(X, o), o, &
        X, ld_of(X), alloc_ptr(alloc))
    if (st == NN_OK) call this%adopt(p)
  end function data_create

  ! One label per row (copied), in [0, 2^31).
  function data_set_labels(this, labels) result(st)
    class(nn_data), intent(inout) :: this
    integer(c_int32_t), intent(in), contiguous :: labels(:)
    integer(c_int32_t) :: st
    st = labels_st(merge(NN_OK, NN_ERR_INVALID, this%exists()), labels, &
        nn_data_rows(this%ptr))
    if (st == NN_OK) st = nn_data_set_labels(this%ptr, labels)
  end function data_set_labels

  ! Dense targets (copied): Y(m, k), or Y(k, m) with NN_ROW_MAJOR.
  function data_set_targets(this, Y, order) result(st)
    class(nn_data), intent(inout) :: this
    real(c_double), intent(in), contiguous :: Y(:, :)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    o = ord(order)
    st = fits(Y, o, nn_data_rows(this%ptr), cols_of(Y, o))
    if (st == NN_OK) st = nn_data_set_targets(this%ptr, cols_of(Y, o), o, Y, &
        ld_of(Y))
  end function data_set_targets

  ! Move feature columns cols (0-based) into dense targets.
  function data_take_targets(this, cols) result(st)
    class(nn_data), intent(inout) :: this
    integer, intent(in) :: cols(:)
    integer(c_int32_t) :: st
    integer(c_size_t), allocatable :: c(:)
    st = NN_ERR_INVALID
    if (size(cols) == 0 .or. any(cols < 0)) return
    allocate(c(size(cols)))  ! an index list, not a batch: the copy converts
    c(:) = sz(cols)
    st = nn_data_take_targets(this%ptr, c, size(c, kind=c_size_t))
  end function data_take_targets

  function data_load_idx(this, path, alloc, err) result(st)
    class(nn_data), intent(inout) :: this
    character(len=*), intent(in) :: path
    type(nn_allocator), intent(in), optional, target :: alloc
    type(nn_error_info), intent(inout), optional, target :: err
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    st = nn_data_load_idx(p, c_str(path), alloc_ptr(alloc), err_ptr(err))
    if (st == NN_OK) call this%adopt(p)
  end function data_load_idx

  function data_load_idx_labels(this, path, err) result(st)
    class(nn_data), intent(inout) :: this
    character(len=*), intent(in) :: path
    type(nn_error_info), intent(inout), optional, target :: err
    integer(c_int32_t) :: st
    st = nn_data_load_idx_labels(this%ptr, c_str(path), err_ptr(err))
  end function data_load_idx_labels

  ! A numeric CSV file; header: skip the first line (default .false.);
  ! label_col: the 0-based label column (absent: none, NN_NO_COLUMN).
  function data_load_csv(this, path, header, label_col, alloc, err) result(st)
    class(nn_data), intent(inout) :: this
    character(len=*), intent(in) :: path
    logical, intent(in), optional :: header
    integer, intent(in), optional :: label_col
    type(nn_allocator), intent(in), optional, target :: alloc
    type(nn_error_info), intent(inout), optional, target :: err
    integer(c_int32_t) :: st, h
    integer(c_size_t) :: col
    type(c_ptr) :: p
    h = 0
    if (present(header)) h = merge(1, 0, header)
    col = NN_NO_COLUMN
    if (present(label_col)) col = sz(label_col)
    st = nn_data_load_csv(p, c_str(path), h, col, alloc_ptr(alloc), err_ptr(err))
    if (st == NN_OK) call this%adopt(p)
  end function data_load_csv

  ! nn_data_read_csv: header (NN_CSV_HEADER_*, default AUTO), delimiter (one
  ! character; ' ' for runs of blanks; default ','), label_col (0-based,
  ! default none).
  function data_read_csv(this, path, header, delimiter, label_col, alloc, err) &
      result(st)
    class(nn_data), intent(inout) :: this
    character(len=*), intent(in) :: path
    integer(c_int32_t), intent(in), optional :: header
    character(len=1), intent(in), optional :: delimiter
    integer, intent(in), optional :: label_col
    type(nn_allocator), intent(in), optional, target :: alloc
    type(nn_error_info), intent(inout), optional, target :: err
    integer(c_int32_t) :: st
    type(nn_csv_format) :: fmt
    type(c_ptr) :: p
    fmt%size = c_sizeof(fmt)
    fmt%header = NN_CSV_HEADER_AUTO
    if (present(header)) fmt%header = header
    fmt%delimiter = 0
    if (present(delimiter)) fmt%delimiter = ichar(delimiter, c_int32_t)
    fmt%label_col = NN_NO_COLUMN
    if (present(label_col)) fmt%label_col = sz(label_col)
    st = nn_data_read_csv(p, c_str(path), fmt, alloc_ptr(alloc), err_ptr(err))
    if (st == NN_OK) call this%adopt(p)
  end function data_read_csv

  ! nn_data_name as a Fortran string ('' where the C call gives NULL); j is
  ! 0-based, as in C.
  function data_name(this, kind, j) result(s)
    class(nn_data), intent(in) :: this
    integer(c_int32_t), intent(in) :: kind
    integer, intent(in) :: j
    character(len=:), allocatable :: s
    s = ''
    if (j < 0) return
    s = c_to_f(nn_data_name_c(this%ptr, kind, sz(j)))
  end function data_name

  function data_rows(this) result(n)
    class(nn_data), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_data_rows(this%ptr)
  end function data_rows

  function data_cols(this) result(n)
    class(nn_data), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_data_cols(this%ptr)
  end function data_cols

  ! Borrowed, writable features: x(n, m), one sample per column (the C
  ! row-major m x n); valid until the columns change.
  function data_x(this) result(p)
    class(nn_data), intent(inout) :: this
    real(c_double), pointer :: p(:, :)
    p => view_2(nn_data_x(this%ptr), nn_data_cols(this%ptr), nn_data_rows(this%ptr))
  end function data_x

  ! Borrowed labels (read them only), null if none.
  function data_labels(this) result(p)
    class(nn_data), intent(in) :: this
    integer(c_int32_t), pointer :: p(:)
    p => null()
    if (c_associated(nn_data_labels(this%ptr))) &
      call c_f_pointer(nn_data_labels(this%ptr), p, [nn_data_rows(this%ptr)])
  end function data_labels

  function data_n_classes(this) result(n)
    class(nn_data), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_data_n_classes(this%ptr)
  end function data_n_classes

  function data_n_targets(this) result(n)
    class(nn_data), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_data_n_targets(this%ptr)
  end function data_n_targets

  ! Borrowed, writable targets: t(k, m), one sample per column; null if none.
  function data_targets(this) result(p)
    class(nn_data), intent(inout) :: this
    real(c_double), pointer :: p(:, :)
    p => view_2(nn_data_targets(this%ptr), nn_data_n_targets(this%ptr), &
        nn_data_rows(this%ptr))
  end function data_targets

  ! The labels as one-hot rows: Y(m, k), or Y(k, m) with NN_ROW_MAJOR.
  function data_one_hot(this, Y, order) result(st)
    class(nn_data), intent(in) :: this
    real(c_double), intent(inout), contiguous :: Y(:, :)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    o = ord(order)
    st = fits(Y, o, nn_data_rows(this%ptr), cols_of(Y, o))
    if (st == NN_OK) st = nn_data_one_hot(this%ptr, cols_of(Y, o), o, Y, ld_of(Y))
  end function data_one_hot

  ! k one-hot feature columns from first_col (0-based) into labels.
  function data_labels_from_one_hot(this, first_col, k, err) result(st)
    class(nn_data), intent(inout) :: this
    integer, intent(in) :: first_col, k
    type(nn_error_info), intent(inout), optional, target :: err
    integer(c_int32_t) :: st
    st = NN_ERR_INVALID
    if (first_col >= 0 .and. k >= 1) st = nn_data_labels_from_one_hot( &
        this%ptr, sz(first_col), sz(k), err_ptr(err))
  end function data_labels_from_one_hot

  ! ================================================================ nn_scaler
  ! Fit (NN_SCALE_STANDARD or _MINMAX) on X(m, n), or X(n, m) row-major.
  function scaler_fit(this, kind, X, order, alloc) result(st)
    class(nn_scaler), intent(inout) :: this
    integer(c_int32_t), intent(in) :: kind
    real(c_double), intent(in), contiguous :: X(:, :)
    integer(c_int32_t), intent(in), optional :: order
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st, o
    type(c_ptr) :: p
    o = ord(order)
    st = fits(X, o, rows_of(X, o), cols_of(X, o))
    if (st == NN_OK) st = nn_scaler_fit(p, kind, rows_of(X, o), cols_of(X, o), &
        o, X, ld_of(X), alloc_ptr(alloc))
    if (st == NN_OK) call this%adopt(p)
  end function scaler_fit

  function scaler_fit_data(this, kind, data, alloc) result(st)
    class(nn_scaler), intent(inout) :: this
    integer(c_int32_t), intent(in) :: kind
    type(nn_data), intent(in) :: data
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    st = nn_scaler_fit_data(p, kind, data%ptr, alloc_ptr(alloc))
    if (st == NN_OK) call this%adopt(p)
  end function scaler_fit_data

  ! A CUSTOM scaler x' = (x - offset) / scale, per column.
  function scaler_create(this, offset, scale, alloc) result(st)
    class(nn_scaler), intent(inout) :: this
    real(c_double), intent(in), contiguous :: offset(:), scale(:)
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st
    type(c_ptr) :: p
    st = NN_ERR_SHAPE
    if (size(offset) /= size(scale)) return
    st = nn_scaler_create(p, size(offset, kind=c_size_t), offset, scale, &
        alloc_ptr(alloc))
    if (st == NN_OK) call this%adopt(p)
  end function scaler_create

  function scaler_n(this) result(n)
    class(nn_scaler), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_scaler_n(this%ptr)
  end function scaler_n

  function scaler_get_kind(this, kind) result(st)
    class(nn_scaler), intent(in) :: this
    integer(c_int32_t), intent(inout) :: kind
    integer(c_int32_t) :: st, k
    st = nn_scaler_get_kind(this%ptr, k)
    if (st == NN_OK) kind = k
  end function scaler_get_kind

  ! The n offsets and/or n scales.
  function scaler_get_params(this, offset, scale) result(st)
    class(nn_scaler), intent(in) :: this
    real(c_double), intent(inout), optional, target, contiguous :: offset(:), scale(:)
    integer(c_int32_t) :: st
    st = NN_ERR_SHAPE
    if (present(offset)) then
      if (size(offset, kind=c_size_t) /= nn_scaler_n(this%ptr)) return
    end if
    if (present(scale)) then
      if (size(scale, kind=c_size_t) /= nn_scaler_n(this%ptr)) return
    end if
    st = nn_scaler_get_params(this%ptr, loc_or_null_1(offset), loc_or_null_1(scale))
  end function scaler_get_params

  ! In place on X(m, n) (or X(n, m) row-major), n = the scaler's columns.
  function scaler_apply(this, X, order) result(st)
    class(nn_scaler), intent(in) :: this
    real(c_double), intent(inout), contiguous :: X(:, :)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    o = ord(order)
    st = fits(X, o, rows_of(X, o), nn_scaler_n(this%ptr))
    if (st == NN_OK) st = nn_scaler_apply(this%ptr, rows_of(X, o), o, X, ld_of(X))
  end function scaler_apply

  function scaler_invert(this, X, order) result(st)
    class(nn_scaler), intent(in) :: this
    real(c_double), intent(inout), contiguous :: X(:, :)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    o = ord(order)
    st = fits(X, o, rows_of(X, o), nn_scaler_n(this%ptr))
    if (st == NN_OK) st = nn_scaler_invert(this%ptr, rows_of(X, o), o, X, ld_of(X))
  end function scaler_invert

  function scaler_apply_data(this, data) result(st)
    class(nn_scaler), intent(in) :: this
    type(nn_data), intent(inout) :: data
    integer(c_int32_t) :: st
    st = nn_scaler_apply_data(this%ptr, data%ptr)
  end function scaler_apply_data

  ! ================================================================ nn_dense
  ! A layer A = g(X W + b); act_param: the leaky-relu slope (0.01).
  function dense_create(this, n_in, n_out, act, act_param, alloc) result(st)
    class(nn_dense), intent(inout) :: this
    integer, intent(in) :: n_in, n_out
    integer(c_int32_t), intent(in) :: act
    real(c_double), intent(in), optional :: act_param
    type(nn_allocator), intent(in), optional, target :: alloc
    integer(c_int32_t) :: st
    real(c_double) :: slope
    type(c_ptr) :: p
    slope = 0.01_c_double
    if (present(act_param)) slope = act_param
    st = nn_dense_create(p, sz(n_in), sz(n_out), act, slope, alloc_ptr(alloc))
    if (st == NN_OK) call this%adopt(p)
  end function dense_create

  function dense_n_in(this) result(n)
    class(nn_dense), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_dense_n_in(this%ptr)
  end function dense_n_in

  function dense_n_out(this) result(n)
    class(nn_dense), intent(in) :: this
    integer(c_size_t) :: n
    n = nn_dense_n_out(this%ptr)
  end function dense_n_out

  function dense_reserve(this, m_max) result(st)
    class(nn_dense), intent(inout) :: this
    integer, intent(in) :: m_max
    integer(c_int32_t) :: st
    st = nn_dense_reserve(this%ptr, sz(m_max))
  end function dense_reserve

  ! A = g(X W + b): X(m, n_in), A(m, n_out) (or transposed, NN_ROW_MAJOR).
  function dense_forward(this, X, A, order) result(st)
    class(nn_dense), intent(inout) :: this
    real(c_double), intent(in), contiguous :: X(:, :)
    real(c_double), intent(inout), contiguous :: A(:, :)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    o = ord(order)
    st = fits(X, o, rows_of(X, o), nn_dense_n_in(this%ptr))
    if (st == NN_OK) st = fits(A, o, rows_of(X, o), nn_dense_n_out(this%ptr))
    if (st == NN_OK) st = nn_dense_forward(this%ptr, rows_of(X, o), o, X, &
        ld_of(X), A, ld_of(A))
  end function dense_forward

  ! Backward for the last forward's batch; dX (same shape as X) optional.
  function dense_backward(this, X, dA, dX, order) result(st)
    class(nn_dense), intent(inout) :: this
    real(c_double), intent(in), contiguous :: X(:, :), dA(:, :)
    real(c_double), intent(inout), optional, target, contiguous :: dX(:, :)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st, o
    integer(c_size_t) :: m
    o = ord(order)
    m = rows_of(X, o)
    st = fits(X, o, m, nn_dense_n_in(this%ptr))
    if (st == NN_OK) st = fits(dA, o, m, nn_dense_n_out(this%ptr))
    if (st == NN_OK .and. present(dX)) st = fits(dX, o, m, nn_dense_n_in(this%ptr))
    if (st == NN_OK) st = nn_dense_backward(this%ptr, m, o, X, ld_of(X), dA, &
        ld_of(dA), loc_or_null_2(dX), ld_opt(dX))
  end function dense_backward

  function dense_get_params(this, W, b, order) result(st)
    class(nn_dense), intent(in) :: this
    real(c_double), intent(inout), optional, target, contiguous :: W(:, :), b(:)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st
    st = params_st(nn_dense_n_in(this%ptr), nn_dense_n_out(this%ptr), &
        ord(order), W, b)
    if (st == NN_OK) st = nn_dense_get_params(this%ptr, ord(order), &
        loc_or_null_2(W), ld_opt(W), loc_or_null_1(b))
  end function dense_get_params

  function dense_set_params(this, W, b, order) result(st)
    class(nn_dense), intent(inout) :: this
    real(c_double), intent(in), optional, target, contiguous :: W(:, :), b(:)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st
    st = params_st(nn_dense_n_in(this%ptr), nn_dense_n_out(this%ptr), &
        ord(order), W, b)
    if (st == NN_OK) st = nn_dense_set_params(this%ptr, ord(order), &
        loc_or_null_2(W), ld_opt(W), loc_or_null_1(b))
  end function dense_set_params

  function dense_get_grads(this, dW, db, order) result(st)
    class(nn_dense), intent(in) :: this
    real(c_double), intent(inout), optional, target, contiguous :: dW(:, :), db(:)
    integer(c_int32_t), intent(in), optional :: order
    integer(c_int32_t) :: st
    st = params_st(nn_dense_n_in(this%ptr), nn_dense_n_out(this%ptr), &
        ord(order), dW, db)
    if (st == NN_OK) st = nn_dense_get_grads(this%ptr, ord(order), &
        loc_or_null_2(dW), ld_opt(dW), loc_or_null_1(db))
  end function dense_get_grads

  ! Borrowed views of the layer's own storage. W is row-major n_in x n_out
  ! in C, so here W(n_out, n_in): W(j, k) weighs input k into output j.
  function dense_weights(this) result(p)
    class(nn_dense), intent(inout) :: this
    real(c_double), pointer :: p(:, :)
    p => view_2(nn_dense_weights(this%ptr), nn_dense_n_out(this%ptr), &
        nn_dense_n_in(this%ptr))
  end function dense_weights

  function dense_bias(this) result(p)
    class(nn_dense), intent(inout) :: this
    real(c_double), pointer :: p(:)
    p => view_1(nn_dense_bias(this%ptr), nn_dense_n_out(this%ptr))
  end function dense_bias

  ! (read-only in C: do not write through these two)
  function dense_grad_weights(this) result(p)
    class(nn_dense), intent(in) :: this
    real(c_double), pointer :: p(:, :)
    p => view_2(nn_dense_grad_weights(this%ptr), nn_dense_n_out(this%ptr), &
        nn_dense_n_in(this%ptr))
  end function dense_grad_weights

  function dense_grad_bias(this) result(p)
    class(nn_dense), intent(in) :: this
    real(c_double), pointer :: p(:)
    p => view_1(nn_dense_grad_bias(this%ptr), nn_dense_n_out(this%ptr))
  end function dense_grad_bias

end module nn
