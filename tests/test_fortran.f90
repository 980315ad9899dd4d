! test_fortran.f90 - the Fortran module `nn` (lib/nn.f90) against libnn.
! Plain Fortran, no framework: every check that fails prints a line, and the
! program ends with `error stop` if any did.
!  - the declarations against the C compiler's view of nn.h: every constant
!    and the size and member offsets of nn_allocator, nn_error_info and
!    nn_report (tests/fortran_sizes.c);
!  - the notes' 2-4-1 network (docs: /shared/notes/derivation.md) with
!    hand-set weights: prediction, loss and every gradient against the
!    notes' formulas written below as plain loops, then training on XOR
!    where every step's loss and update are checked the same way;
!  - batches straight from Fortran arrays: X(m, n) column-major and its
!    transpose row-major give bitwise equal results; sub-batches as array
!    sections; the raw C interface on one row of a column-major array;
!  - shared-model inference from an OpenMP parallel loop over rows, one
!    nn_ctx per thread, bitwise equal to the serial loop;
!  - model files and buffers with Fortran strings, errors and messages,
!    keys, a trainer run with Fortran report and gradient callbacks, a
!    dense layer, a scaler, least squares and a context in Fortran memory
!    against formulas computed here, and finalization (an allocator written
!    in Fortran counts the bytes).
module test_support
  use, intrinsic :: iso_c_binding
  use nn
  implicit none
  integer, parameter :: dp = c_double
  integer, save :: failures = 0

  ! what the trainer callbacks saw
  type, bind(c) :: seen_t
    integer(c_int32_t) :: reports = 0, hooks = 0, bad = 0
    real(c_double) :: last_train_loss = 0
  end type seen_t

  interface expect_close
    module procedure expect_close_0, expect_close_1, expect_close_2
  end interface expect_close

  interface constant_is
    module procedure constant_is_32, constant_is_64
  end interface constant_is

  interface
    function c_malloc(size) bind(c, name='malloc')
      import :: c_ptr, c_size_t
      integer(c_size_t), value :: size
      type(c_ptr) :: c_malloc
    end function c_malloc
    subroutine c_free(p) bind(c, name='free')
      import :: c_ptr
      type(c_ptr), value :: p
    end subroutine c_free
    subroutine nnf_test_layout(out) bind(c)
      import :: c_size_t
      integer(c_size_t), intent(out) :: out(24)
    end subroutine nnf_test_layout
    function nnf_test_constant(name, value) bind(c)
      import :: c_char, c_int64_t, c_int32_t
      character(kind=c_char), intent(in) :: name(*)
      integer(c_int64_t), intent(out) :: value
      integer(c_int32_t) :: nnf_test_constant
    end function nnf_test_constant
    function nnf_test_version_string() bind(c)
      import :: c_ptr
      type(c_ptr) :: nnf_test_version_string
    end function nnf_test_version_string
  end interface

contains

  subroutine expect(cond, what)
    logical, intent(in) :: cond
    character(len=*), intent(in) :: what
    if (cond) return
    failures = failures + 1
    print '(a, a)', 'FAIL: ', what
  end subroutine expect

  subroutine expect_st(st, want, what)
    integer(c_int32_t), intent(in) :: st, want
    character(len=*), intent(in) :: what
    if (st == want) return
    failures = failures + 1
    print '(a, a, a, i0, a, a, a, i0)', 'FAIL: ', what, ': status ', st, &
        ' (', nnf_strerror(st), '), want ', want
  end subroutine expect_st

  ! |got - want| <= tol * max(|want|, 1e-2): relative, with a floor so that
  ! values that cancel to ~0 ask no more than ~1e-14 absolute.
  subroutine expect_close_0(got, want, tol, what)
    real(dp), intent(in) :: got, want, tol
    character(len=*), intent(in) :: what
    if (abs(got - want) <= tol * max(abs(want), 1e-2_dp)) return
    failures = failures + 1
    print '(a, a, a, es24.16, a, es24.16)', 'FAIL: ', what, ': got ', got, &
        ', want ', want
  end subroutine expect_close_0

  subroutine expect_close_1(got, want, tol, what)
    real(dp), intent(in) :: got(:), want(:), tol
    character(len=*), intent(in) :: what
    integer :: i
    call expect(size(got) == size(want), what // ': sizes')
    do i = 1, min(size(got), size(want))
      call expect_close_0(got(i), want(i), tol, what)
    end do
  end subroutine expect_close_1

  subroutine expect_close_2(got, want, tol, what)
    real(dp), intent(in) :: got(:, :), want(:, :), tol
    character(len=*), intent(in) :: what
    call expect_close_1(reshape(got, [size(got)]), reshape(want, [size(want)]), &
        tol, what)
  end subroutine expect_close_2

  subroutine constant_is_64(name, value)
    character(len=*), intent(in) :: name
    integer(c_int64_t), intent(in) :: value
    integer(c_int64_t) :: c
    call expect(nnf_test_constant(name // c_null_char, c) == 1, &
        name // ' unknown to the C helper')
    call expect(c == value, name // ' differs from nn.h')
  end subroutine constant_is_64

  subroutine constant_is_32(name, value)
    character(len=*), intent(in) :: name
    integer(c_int32_t), intent(in) :: value
    call constant_is_64(name, int(value, c_int64_t))
  end subroutine constant_is_32

  ! ---------------------------------------------------------------- callbacks
  ! Report callback: counts the epoch reports and checks what they say.
  function on_report(report, ctx) bind(c) result(stop)
    type(nn_report), intent(in) :: report
    type(c_ptr), value :: ctx
    integer(c_int32_t) :: stop
    type(seen_t), pointer :: seen
    call c_f_pointer(ctx, seen)
    seen%reports = seen%reports + 1
    if (report%size /= c_sizeof(report) .or. report%kind /= NN_REPORT_EPOCH &
        .or. report%epoch /= seen%reports .or. report%epochs /= 3 &
        .or. report%batches /= 4 .or. report%rows /= 64) seen%bad = seen%bad + 1
    seen%last_train_loss = report%train_loss
    stop = 0
  end function on_report

  ! Report callback: pauses the run at the report of epoch 2.
  function pause_at_2(report, ctx) bind(c) result(answer)
    type(nn_report), intent(in) :: report
    type(c_ptr), value :: ctx
    integer(c_int32_t) :: answer
    answer = 0
    if (report%kind == NN_REPORT_EPOCH .and. report%epoch == 2) &
        answer = NN_REPORT_PAUSE
  end function pause_at_2

  ! Gradient hook: counts the steps; the arguments are the flat gradient
  ! of the 2-8-1 network (33 values) for a batch of 16 rows.
  function on_grad(grad, len, m, loss, ctx) bind(c) result(st)
    integer(c_size_t), value :: len, m
    real(c_double), intent(inout) :: grad(len)
    real(c_double), intent(inout) :: loss
    type(c_ptr), value :: ctx
    integer(c_int32_t) :: st
    type(seen_t), pointer :: seen
    call c_f_pointer(ctx, seen)
    seen%hooks = seen%hooks + 1
    if (len /= 33 .or. m /= 16 .or. .not. (loss >= 0) .or. &
        any(grad /= grad)) seen%bad = seen%bad + 1
    st = NN_OK
  end function on_grad

  ! An allocator in Fortran: malloc/free that keep count of the live bytes.
  function count_alloc(ctx, size) bind(c) result(p)
    type(c_ptr), value :: ctx
    integer(c_size_t), value :: size
    type(c_ptr) :: p
    integer(c_size_t), pointer :: live
    call c_f_pointer(ctx, live)
    p = c_malloc(size)
    if (c_associated(p)) live = live + size
  end function count_alloc

  subroutine count_free(ctx, p, size) bind(c)
    type(c_ptr), value :: ctx, p
    integer(c_size_t), value :: size
    integer(c_size_t), pointer :: live
    call c_f_pointer(ctx, live)
    live = live - size
    call c_free(p)
  end subroutine count_free
end module test_support

program test_fortran
  use, intrinsic :: iso_c_binding
  use nn
  use test_support
  !$ use omp_lib
  implicit none

  call test_constants()
  call test_structs()
  call test_notes(NN_ACT_SIGMOID)
  call test_notes(NN_ACT_TANH)
  call test_notes(NN_ACT_RELU)
  call test_xor_training()
  call test_layouts()
  call test_threads()
  call test_model_files()
  call test_errors_and_keys()
  call test_trainer()
  call test_checkpoint()
  call test_layer_scaler_lstsq()
  call test_csv_confusion()
  call test_ownership()
  if (failures > 0) then
    print '(i0, a)', failures, ' check(s) failed'
    error stop 1
  end if
  print '(a)', 'test_fortran: all checks passed'

contains

  ! ================================================================ declarations
  ! Every constant of nn.h, by name, against the C compiler's value.
  subroutine test_constants()
    character(kind=c_char), pointer :: s(:)
    character(len=:), allocatable :: macro
    integer :: i
    call constant_is('NN_VERSION_MAJOR', NN_VERSION_MAJOR)
    call constant_is('NN_VERSION_MINOR', NN_VERSION_MINOR)
    call constant_is('NN_VERSION_PATCH', NN_VERSION_PATCH)
    call constant_is('NN_VERSION_NUMBER', NN_VERSION_NUMBER)
    call constant_is('NN_NO_COLUMN', NN_NO_COLUMN)
    call constant_is('NN_NET_WIDE', NN_NET_WIDE)
    call constant_is('NN_KEY_EXPERIMENTAL', NN_KEY_EXPERIMENTAL)
    call constant_is('NN_GRAD_SPARE', NN_GRAD_SPARE)
    call constant_is('NN_MODEL_FORMAT_VERSION', NN_MODEL_FORMAT_VERSION)
    call constant_is('NN_OK', NN_OK)
    call constant_is('NN_ERR_NOMEM', NN_ERR_NOMEM)
    call constant_is('NN_ERR_INVALID', NN_ERR_INVALID)
    call constant_is('NN_ERR_SHAPE', NN_ERR_SHAPE)
    call constant_is('NN_ERR_NUMERIC', NN_ERR_NUMERIC)
    call constant_is('NN_ERR_IO', NN_ERR_IO)
    call constant_is('NN_ERR_FORMAT', NN_ERR_FORMAT)
    call constant_is('NN_ERR_TOO_LARGE', NN_ERR_TOO_LARGE)
    call constant_is('NN_ERR_UNSUPPORTED', NN_ERR_UNSUPPORTED)
    call constant_is('NN_ERR_STATE', NN_ERR_STATE)
    call constant_is('NN_ROW_MAJOR', NN_ROW_MAJOR)
    call constant_is('NN_COL_MAJOR', NN_COL_MAJOR)
    call constant_is('NN_ACT_IDENTITY', NN_ACT_IDENTITY)
    call constant_is('NN_ACT_SIGMOID', NN_ACT_SIGMOID)
    call constant_is('NN_ACT_TANH', NN_ACT_TANH)
    call constant_is('NN_ACT_RELU', NN_ACT_RELU)
    call constant_is('NN_ACT_LEAKY_RELU', NN_ACT_LEAKY_RELU)
    call constant_is('NN_ACT_SOFTMAX', NN_ACT_SOFTMAX)
    call constant_is('NN_LOSS_MSE', NN_LOSS_MSE)
    call constant_is('NN_LOSS_BCE', NN_LOSS_BCE)
    call constant_is('NN_LOSS_SOFTMAX_CE', NN_LOSS_SOFTMAX_CE)
    call constant_is('NN_REDUCE_MEAN', NN_REDUCE_MEAN)
    call constant_is('NN_REDUCE_SUM', NN_REDUCE_SUM)
    call constant_is('NN_INIT_DEFAULT', NN_INIT_DEFAULT)
    call constant_is('NN_INIT_GLOROT_UNIFORM', NN_INIT_GLOROT_UNIFORM)
    call constant_is('NN_INIT_HE_UNIFORM', NN_INIT_HE_UNIFORM)
    call constant_is('NN_INIT_ZERO', NN_INIT_ZERO)
    call constant_is('NN_INIT_GLOROT_NORMAL', NN_INIT_GLOROT_NORMAL)
    call constant_is('NN_INIT_HE_NORMAL', NN_INIT_HE_NORMAL)
    call constant_is('NN_INIT_ORTHOGONAL', NN_INIT_ORTHOGONAL)
    call constant_is('NN_NET_LOSS', NN_NET_LOSS)
    call constant_is('NN_NET_REDUCTION', NN_NET_REDUCTION)
    call constant_is('NN_NET_CHECK_FINITE', NN_NET_CHECK_FINITE)
    call constant_is('NN_NET_DROPOUT_SEED', NN_NET_DROPOUT_SEED)
    call constant_is('NN_NET_DROPOUT_STEP', NN_NET_DROPOUT_STEP)
    call constant_is('NN_NET_DROPOUT_ROW0', NN_NET_DROPOUT_ROW0)
    call constant_is('NN_LAYER_DENSE', NN_LAYER_DENSE)
    call constant_is('NN_LAYER_KIND', NN_LAYER_KIND)
    call constant_is('NN_LAYER_UNITS', NN_LAYER_UNITS)
    call constant_is('NN_LAYER_ACTIVATION', NN_LAYER_ACTIVATION)
    call constant_is('NN_LAYER_ACT_PARAM', NN_LAYER_ACT_PARAM)
    call constant_is('NN_LAYER_DROPOUT', NN_LAYER_DROPOUT)
    call constant_is('NN_OPTIM_SGD', NN_OPTIM_SGD)
    call constant_is('NN_OPTIM_MOMENTUM', NN_OPTIM_MOMENTUM)
    call constant_is('NN_OPTIM_NESTEROV', NN_OPTIM_NESTEROV)
    call constant_is('NN_OPTIM_ADAM', NN_OPTIM_ADAM)
    call constant_is('NN_OPTIM_KIND', NN_OPTIM_KIND)
    call constant_is('NN_OPTIM_LR', NN_OPTIM_LR)
    call constant_is('NN_OPTIM_MOMENTUM_COEF', NN_OPTIM_MOMENTUM_COEF)
    call constant_is('NN_OPTIM_BETA1', NN_OPTIM_BETA1)
    call constant_is('NN_OPTIM_BETA2', NN_OPTIM_BETA2)
    call constant_is('NN_OPTIM_EPS', NN_OPTIM_EPS)
    call constant_is('NN_OPTIM_WEIGHT_DECAY', NN_OPTIM_WEIGHT_DECAY)
    call constant_is('NN_OPTIM_DECOUPLED', NN_OPTIM_DECOUPLED)
    call constant_is('NN_OPTIM_CLIP_NORM', NN_OPTIM_CLIP_NORM)
    call constant_is('NN_OPTIM_STEPS', NN_OPTIM_STEPS)
    call constant_is('NN_SCHED_CONSTANT', NN_SCHED_CONSTANT)
    call constant_is('NN_SCHED_STEP', NN_SCHED_STEP)
    call constant_is('NN_SCHED_COSINE', NN_SCHED_COSINE)
    call constant_is('NN_TRAIN_EPOCHS', NN_TRAIN_EPOCHS)
    call constant_is('NN_TRAIN_BATCH_SIZE', NN_TRAIN_BATCH_SIZE)
    call constant_is('NN_TRAIN_SHUFFLE', NN_TRAIN_SHUFFLE)
    call constant_is('NN_TRAIN_SEED', NN_TRAIN_SEED)
    call constant_is('NN_TRAIN_VAL_FRACTION', NN_TRAIN_VAL_FRACTION)
    call constant_is('NN_TRAIN_PATIENCE', NN_TRAIN_PATIENCE)
    call constant_is('NN_TRAIN_RESTORE_BEST', NN_TRAIN_RESTORE_BEST)
    call constant_is('NN_TRAIN_SCHEDULE', NN_TRAIN_SCHEDULE)
    call constant_is('NN_TRAIN_GAMMA', NN_TRAIN_GAMMA)
    call constant_is('NN_TRAIN_STEP_EPOCHS', NN_TRAIN_STEP_EPOCHS)
    call constant_is('NN_TRAIN_LR_MIN', NN_TRAIN_LR_MIN)
    call constant_is('NN_TRAIN_WARMUP_STEPS', NN_TRAIN_WARMUP_STEPS)
    call constant_is('NN_TRAIN_REPORT_EVERY', NN_TRAIN_REPORT_EVERY)
    call constant_is('NN_TRAIN_EPOCHS_RUN', NN_TRAIN_EPOCHS_RUN)
    call constant_is('NN_TRAIN_BEST_EPOCH', NN_TRAIN_BEST_EPOCH)
    call constant_is('NN_TRAIN_STOPPED_EARLY', NN_TRAIN_STOPPED_EARLY)
    call constant_is('NN_TRAIN_STEPS_RUN', NN_TRAIN_STEPS_RUN)
    call constant_is('NN_TRAIN_PAUSED', NN_TRAIN_PAUSED)
    call constant_is('NN_TRAIN_RESUME', NN_TRAIN_RESUME)
    call constant_is('NN_TRAIN_BEST_VAL_LOSS', NN_TRAIN_BEST_VAL_LOSS)
    call constant_is('NN_TRAIN_FINAL_LOSS', NN_TRAIN_FINAL_LOSS)
    call constant_is('NN_TRAIN_SECONDS', NN_TRAIN_SECONDS)
    call constant_is('NN_METRIC_LOSS', NN_METRIC_LOSS)
    call constant_is('NN_METRIC_ACCURACY', NN_METRIC_ACCURACY)
    call constant_is('NN_METRIC_MSE', NN_METRIC_MSE)
    call constant_is('NN_METRIC_MAE', NN_METRIC_MAE)
    call constant_is('NN_METRIC_R2', NN_METRIC_R2)
    call constant_is('NN_METRIC_MSE_OUTPUTS', NN_METRIC_MSE_OUTPUTS)
    call constant_is('NN_METRIC_MAE_OUTPUTS', NN_METRIC_MAE_OUTPUTS)
    call constant_is('NN_METRIC_R2_OUTPUTS', NN_METRIC_R2_OUTPUTS)
    call constant_is('NN_PARAM_INT', NN_PARAM_INT)
    call constant_is('NN_PARAM_REAL', NN_PARAM_REAL)
    call constant_is('NN_SCALE_STANDARD', NN_SCALE_STANDARD)
    call constant_is('NN_SCALE_MINMAX', NN_SCALE_MINMAX)
    call constant_is('NN_SCALE_CUSTOM', NN_SCALE_CUSTOM)
    call constant_is('NN_SCALER_INPUT', NN_SCALER_INPUT)
    call constant_is('NN_SCALER_TARGET', NN_SCALER_TARGET)
    call constant_is('NN_CSV_HEADER_NONE', NN_CSV_HEADER_NONE)
    call constant_is('NN_CSV_HEADER_LINE', NN_CSV_HEADER_LINE)
    call constant_is('NN_CSV_HEADER_AUTO', NN_CSV_HEADER_AUTO)
    call constant_is('NN_NAME_FEATURE', NN_NAME_FEATURE)
    call constant_is('NN_NAME_TARGET', NN_NAME_TARGET)
    call constant_is('NN_NAME_LABEL', NN_NAME_LABEL)
    call constant_is('NN_NAME_CLASS', NN_NAME_CLASS)
    call constant_is('NN_NAME_COLUMN', NN_NAME_COLUMN)
    call constant_is('NN_REPORT_BATCH', NN_REPORT_BATCH)
    call constant_is('NN_REPORT_EPOCH', NN_REPORT_EPOCH)
    call constant_is('NN_REPORT_PAUSE', NN_REPORT_PAUSE)
    ! the version string: the macro's (C), the parameter's, the library's
    call c_f_pointer(nnf_test_version_string(), s, [len(NN_VERSION_STRING)])
    allocate(character(len=size(s)) :: macro)
    do i = 1, size(s)
      macro(i:i) = s(i)
    end do
    call expect(macro == NN_VERSION_STRING, 'NN_VERSION_STRING differs from nn.h')
    call expect(nnf_version_string() == NN_VERSION_STRING, 'nnf_version_string')
    call expect(nn_version_number_c() == NN_VERSION_NUMBER, 'nn_version_number')
  end subroutine test_constants

  ! c_sizeof and member offsets of the bind(c) types against sizeof and
  ! offsetof of the C structs.
  subroutine test_structs()
    type(nn_allocator), target :: a
    type(nn_error_info), target :: e
    type(nn_report), target :: r
    type(nn_csv_format), target :: v
    integer(c_size_t) :: c(29), f(29)
    call nnf_test_layout(c)
    f = [c_sizeof(a), off(c_loc(a%alloc), c_loc(a)), off(c_loc(a%free), c_loc(a)), &
        off(c_loc(a%ctx), c_loc(a)), &
        c_sizeof(e), off(c_loc(e%file), c_loc(e)), off(c_loc(e%line), c_loc(e)), &
        off(c_loc(e%column), c_loc(e)), off(c_loc(e%offset), c_loc(e)), &
        off(c_loc(e%message), c_loc(e)), &
        c_sizeof(r), off(c_loc(r%size), c_loc(r)), off(c_loc(r%kind), c_loc(r)), &
        off(c_loc(r%reserved), c_loc(r)), off(c_loc(r%epoch), c_loc(r)), &
        off(c_loc(r%epochs), c_loc(r)), off(c_loc(r%batch), c_loc(r)), &
        off(c_loc(r%batches), c_loc(r)), off(c_loc(r%rows), c_loc(r)), &
        off(c_loc(r%train_loss), c_loc(r)), off(c_loc(r%val_loss), c_loc(r)), &
        off(c_loc(r%val_accuracy), c_loc(r)), off(c_loc(r%lr), c_loc(r)), &
        off(c_loc(r%seconds), c_loc(r)), &
        c_sizeof(v), off(c_loc(v%size), c_loc(v)), off(c_loc(v%header), c_loc(v)), &
        off(c_loc(v%delimiter), c_loc(v)), off(c_loc(v%label_col), c_loc(v))]
    call expect(f(1) == c(1) .and. all(f(2:4) == c(2:4)), 'nn_allocator layout')
    call expect(f(5) == c(5) .and. all(f(6:10) == c(6:10)), 'nn_error_info layout')
    call expect(f(11) == c(11) .and. all(f(12:24) == c(12:24)), 'nn_report layout')
    call expect(f(25) == c(25) .and. all(f(26:29) == c(26:29)), 'nn_csv_format layout')
  end subroutine test_structs

  ! Byte offset of a member address p from the struct's address base.
  function off(p, base) result(d)
    type(c_ptr), intent(in) :: p, base
    integer(c_size_t) :: d
    d = int(transfer(p, 0_c_intptr_t) - transfer(base, 0_c_intptr_t), c_size_t)
  end function off

  ! ================================================================ the notes
  ! The notes' activations g and g' (relu'(0) = 0, as nn.h documents).
  elemental function act(g, z) result(a)
    integer(c_int32_t), intent(in) :: g
    real(dp), intent(in) :: z
    real(dp) :: a
    select case (g)
    case (NN_ACT_SIGMOID)
      a = 1 / (1 + exp(-z))
    case (NN_ACT_TANH)
      a = tanh(z)
    case default
      a = max(z, 0.0_dp)
    end select
  end function act

  elemental function dact(g, z) result(d)
    integer(c_int32_t), intent(in) :: g
    real(dp), intent(in) :: z
    real(dp) :: d
    select case (g)
    case (NN_ACT_SIGMOID)
      d = act(g, z) * (1 - act(g, z))
    case (NN_ACT_TANH)
      d = 1 - tanh(z)**2
    case default
      d = merge(1.0_dp, 0.0_dp, z > 0)
    end select
  end function dact

  ! The notes' forward and backward pass, in loops, for X (m x 2), W1 (2 x 4),
  ! W2 (4 x 1), a sigmoid output and the mean binary cross-entropy:
  !   z1 = X W1 + b1, a1 = g(z1), a2 = sigmoid(a1 W2 + b2)
  !   J  = -(1/m) sum [y log a2 + (1-y) log(1-a2)]
  !   dz2 = a2 - y, dW2 = (1/m) a1^T dz2, db2 = (1/m) sum dz2
  !   dz1 = (dz2 W2^T) o g'(z1), dW1 = (1/m) X^T dz1, db1 = (1/m) sum dz1
  subroutine notes_reference(g, X, y, W1, b1, W2, b2, a2, J, dW1, db1, dW2, db2)
    integer(c_int32_t), intent(in) :: g
    real(dp), intent(in) :: X(:, :), y(:), W1(:, :), b1(:), W2(:), b2
    real(dp), intent(out) :: a2(size(X, 1)), J, dW1(2, 4), db1(4), dW2(4), db2
    real(dp) :: z1(size(X, 1), 4), a1(size(X, 1), 4), dz1(size(X, 1), 4)
    real(dp) :: dz2(size(X, 1)), z2
    integer :: i, jj, k, m
    m = size(X, 1)
    J = 0
    do i = 1, m
      z2 = b2
      do jj = 1, 4
        z1(i, jj) = b1(jj)
        do k = 1, 2
          z1(i, jj) = z1(i, jj) + X(i, k) * W1(k, jj)
        end do
        a1(i, jj) = act(g, z1(i, jj))
        z2 = z2 + a1(i, jj) * W2(jj)
      end do
      a2(i) = 1 / (1 + exp(-z2))
      J = J + y(i) * log(a2(i)) + (1 - y(i)) * log(1 - a2(i))
      dz2(i) = a2(i) - y(i)
    end do
    J = -J / m
    db2 = sum(dz2) / m
    do jj = 1, 4
      dW2(jj) = sum(a1(:, jj) * dz2) / m
      dz1(:, jj) = dz2 * W2(jj) * dact(g, z1(:, jj))
      db1(jj) = sum(dz1(:, jj)) / m
      do k = 1, 2
        dW1(k, jj) = sum(X(:, k) * dz1(:, jj)) / m
      end do
    end do
  end subroutine notes_reference

  ! The notes' network 2-4-1 (hidden g, sigmoid output, BCE) with the
  ! weights set by hand from Fortran arrays (W1(2, 4): column-major).
  subroutine notes_net(g, net, W1, b1, W2, b2)
    integer(c_int32_t), intent(in) :: g
    type(nn_net), intent(inout) :: net
    real(dp), intent(in) :: W1(2, 4), b1(4), W2(4), b2
    type(nn_netspec) :: spec
    call expect_st(spec%create(2, NN_LOSS_BCE), NN_OK, 'netspec create')
    call expect_st(spec%add_dense(4, g), NN_OK, 'add hidden layer')
    call expect_st(spec%add_dense(1, NN_ACT_SIGMOID), NN_OK, 'add output layer')
    call expect_st(net%create(spec), NN_OK, 'net create')
    call spec%destroy()
    call expect_st(net%set_params(0, W1, b1), NN_OK, 'set W1, b1')
    call expect_st(net%set_params(1, reshape(W2, [4, 1]), [b2]), NN_OK, 'set W2, b2')
  end subroutine notes_net

  ! Prediction, loss and every gradient at the hand-set weights, through
  ! the copies (get_grads) and the flat borrowed views (params, grads).
  subroutine test_notes(g)
    integer(c_int32_t), intent(in) :: g
    real(dp), parameter :: X(5, 2) = reshape([0.5_dp, -0.3_dp, 1.5_dp, -1.1_dp, &
        0.2_dp, -1.2_dp, 0.8_dp, 0.4_dp, -0.7_dp, 1.9_dp], [5, 2])
    real(dp), parameter :: y(5) = [0, 1, 1, 0, 1]
    integer(c_int32_t), parameter :: labels(5) = [0, 1, 1, 0, 1]
    real(dp), parameter :: W1(2, 4) = reshape([0.4_dp, -0.6_dp, -0.7_dp, 0.3_dp, &
        0.25_dp, 0.9_dp, 1.1_dp, -0.45_dp], [2, 4])
    real(dp), parameter :: b1(4) = [0.1_dp, -0.2_dp, 0.05_dp, 0.3_dp]
    real(dp), parameter :: W2(4) = [0.8_dp, -1.3_dp, 0.6_dp, 1.05_dp], b2 = -0.15_dp
    real(dp) :: a2(5), J, dW1(2, 4), db1(4), dW2(4), db2
    real(dp) :: A(5, 1), loss, gW1(2, 4), gb1(4), gW2(4, 1), gb2(1)
    real(dp), pointer :: p(:), gp(:)
    integer(c_size_t) :: wo, bo, wo2, bo2
    type(nn_net) :: net
    integer :: k
    character(len=16) :: what
    write (what, '(a, i0)') 'notes g=', g
    call notes_reference(g, X, y, W1, b1, W2, b2, a2, J, dW1, db1, dW2, db2)
    call notes_net(g, net, W1, b1, W2, b2)

    ! the flat layout: per layer W row-major n_in x n_out, then b
    p => net%params()
    call expect_st(net%layer_offset(0, wo, bo), NN_OK, 'layer_offset 0')
    call expect_st(net%layer_offset(1, wo2, bo2), NN_OK, 'layer_offset 1')
    call expect(size(p) == 17 .and. wo == 0 .and. bo == 8 .and. wo2 == 12 .and. &
        bo2 == 16, trim(what) // ': offsets')
    do k = 1, 2
      call expect(all(p(wo + (k - 1) * 4 + 1:wo + k * 4) == W1(k, :)), &
          trim(what) // ': flat W1 is row-major')
    end do
    call expect(all(p(bo + 1:bo + 4) == b1) .and. all(p(wo2 + 1:wo2 + 4) == W2) &
        .and. p(bo2 + 1) == b2, trim(what) // ': flat b1, W2, b2')

    call expect_st(net%predict(X, A), NN_OK, 'predict')
    call expect_close(A(:, 1), a2, 1e-12_dp, trim(what) // ': a2')
    call expect_st(net%loss(X, reshape(y, [5, 1]), loss), NN_OK, 'loss')
    call expect_close(loss, J, 1e-12_dp, trim(what) // ': loss')
    loss = 0
    call expect_st(net%loss(X, labels, loss), NN_OK, 'loss (labels)')
    call expect_close(loss, J, 1e-12_dp, trim(what) // ': loss (labels)')

    loss = 0
    call expect_st(net%gradient(X, reshape(y, [5, 1]), loss), NN_OK, 'gradient')
    call expect_close(loss, J, 1e-12_dp, trim(what) // ': gradient loss')
    call expect(net%has_grads(), trim(what) // ': gradient current')
    call expect_st(net%get_grads(0, gW1, gb1), NN_OK, 'get_grads 0')
    call expect_st(net%get_grads(1, gW2, gb2), NN_OK, 'get_grads 1')
    call expect_close(gW1, dW1, 1e-12_dp, trim(what) // ': dW1')
    call expect_close(gb1, db1, 1e-12_dp, trim(what) // ': db1')
    call expect_close(gW2(:, 1), dW2, 1e-12_dp, trim(what) // ': dW2')
    call expect_close(gb2(1), db2, 1e-12_dp, trim(what) // ': db2')
    gp => net%grads()
    do k = 1, 2
      call expect_close(gp(wo + (k - 1) * 4 + 1:wo + k * 4), dW1(k, :), 1e-12_dp, &
          trim(what) // ': flat dW1')
    end do
    call expect_close(gp(bo + 1:bo + 4), db1, 1e-12_dp, trim(what) // ': flat db1')
    call expect_close(gp(wo2 + 1:wo2 + 4), dW2, 1e-12_dp, trim(what) // ': flat dW2')
    call expect_close(gp(bo2 + 1), db2, 1e-12_dp, trim(what) // ': flat db2')

    ! the same with class labels (one output: label c is the target c)
    call expect_st(net%gradient(X, labels), NN_OK, 'gradient (labels)')
    call expect_st(net%get_grads(0, gW1, gb1), NN_OK, 'get_grads 0 (labels)')
    call expect_close(gW1, dW1, 1e-12_dp, trim(what) // ': dW1 (labels)')
    call expect_close(gb1, db1, 1e-12_dp, trim(what) // ': db1 (labels)')
    call net%destroy()
  end subroutine test_notes

  ! The notes' learning example: the 2-4-1 network learns XOR by plain
  ! gradient descent w <- w - alpha dw. Every step is checked against the
  ! reference at the library's current weights: the loss, and the new
  ! weights (odd steps gradient + optimizer step, even steps the one-call
  ! train_step, which fuses the update).
  subroutine test_xor_training()
    real(dp), parameter :: X(4, 2) = reshape([0, 0, 1, 1, 0, 1, 0, 1], [4, 2])
    real(dp), parameter :: y(4) = [0, 1, 1, 0], alpha = 0.5_dp
    real(dp), parameter :: W1_0(2, 4) = reshape([0.4_dp, -0.6_dp, -0.7_dp, 0.3_dp, &
        0.25_dp, 0.9_dp, 1.1_dp, -0.45_dp], [2, 4])
    real(dp) :: W1(2, 4), b1(4), W2(4, 1), b2(1), nW1(2, 4), nb1(4), nW2(4, 1), nb2(1)
    real(dp) :: a2(4), J, dW1(2, 4), db1(4), dW2(4), db2, loss, A(4, 1), J0
    type(nn_net) :: net
    type(nn_optim) :: opt
    integer :: step, bad
    call notes_net(NN_ACT_TANH, net, W1_0, [0.1_dp, -0.2_dp, 0.05_dp, 0.3_dp], &
        [0.8_dp, -1.3_dp, 0.6_dp, 1.05_dp], -0.15_dp)
    call expect_st(opt%create(net, NN_OPTIM_SGD), NN_OK, 'optim create')
    call expect_st(opt%set(NN_OPTIM_LR, alpha), NN_OK, 'set lr')
    bad = 0
    J0 = 0
    do step = 1, 400
      call expect_st(net%get_params(0, W1, b1), NN_OK, 'get_params 0')
      call expect_st(net%get_params(1, W2, b2), NN_OK, 'get_params 1')
      call notes_reference(NN_ACT_TANH, X, y, W1, b1, W2(:, 1), b2(1), a2, J, dW1, &
          db1, dW2, db2)
      if (step == 1) J0 = J
      if (mod(step, 2) == 1) then
        call expect_st(net%gradient(X, reshape(y, [4, 1]), loss), NN_OK, 'gradient')
        call expect_st(opt%step(net), NN_OK, 'optim step')
      else
        call expect_st(net%train_step(opt, X, reshape(y, [4, 1]), loss), NN_OK, &
            'train_step')
      end if
      call expect_st(net%get_params(0, nW1, nb1), NN_OK, 'get_params 0')
      call expect_st(net%get_params(1, nW2, nb2), NN_OK, 'get_params 1')
      if (.not. near(loss, J) .or. any(.not. near(nW1, W1 - alpha * dW1)) .or. &
          any(.not. near(nb1, b1 - alpha * db1)) .or. &
          any(.not. near(nW2(:, 1), W2(:, 1) - alpha * dW2)) .or. &
          .not. near(nb2(1), b2(1) - alpha * db2)) bad = bad + 1
    end do
    call expect(bad == 0, 'XOR training: every step as the notes compute it')
    call expect_st(net%predict(X, A), NN_OK, 'predict')
    call expect(all((A(:, 1) > 0.5_dp) .eqv. (y > 0.5_dp)), 'XOR learned')
    call expect(J < J0 / 10, 'XOR loss fell tenfold')
    call opt%destroy()
    call net%destroy()
  end subroutine test_xor_training

  elemental logical function near(got, want)
    real(dp), intent(in) :: got, want
    near = abs(got - want) <= 1e-12_dp * max(abs(want), 1e-2_dp)
  end function near

  ! ================================================================ layouts
  ! A 3-5-2 network (tanh, identity, MSE) with seeded weights.
  subroutine small_net(net, hidden)
    type(nn_net), intent(inout) :: net
    integer, intent(in) :: hidden
    type(nn_netspec) :: spec
    call expect_st(spec%create(3, NN_LOSS_MSE), NN_OK, 'spec')
    call expect_st(spec%add_dense(hidden, NN_ACT_TANH), NN_OK, 'hidden')
    call expect_st(spec%add_dense(2, NN_ACT_IDENTITY), NN_OK, 'output')
    call expect_st(net%create(spec), NN_OK, 'net')
    call expect_st(net%init(NN_INIT_GLOROT_UNIFORM, 7), NN_OK, 'init')
    call spec%destroy()
  end subroutine small_net

  ! X(m, 3), T(m, 2): deterministic inputs and targets.
  subroutine batch(m, X, T)
    integer, intent(in) :: m
    real(dp), intent(out) :: X(m, 3), T(m, 2)
    integer :: i, k
    do k = 1, 3
      do i = 1, m
        X(i, k) = sin(real(3 * i + k, dp))
      end do
    end do
    T(:, 1) = cos(X(:, 1) + X(:, 2))
    T(:, 2) = X(:, 3)**2
  end subroutine batch

  ! A Fortran X(m, n) is used column-major in place; its transpose, X(n, m)
  ! with one sample per column, row-major. Both give bitwise equal results,
  ! which also equal the forward pass computed here from the weights.
  subroutine test_layouts()
    integer, parameter :: m = 7
    real(dp) :: X(m, 3), T(m, 2), Y(m, 2), Yt(2, m), W1(3, 5), b1(5), W2(5, 2), b2(2)
    real(dp) :: Xb(m, 6), Ys(m, 2), Yr(m, 2), Yrow(2, 1), l1, l2
    real(dp), allocatable :: g1(:)
    real(dp), pointer :: gp(:)
    type(nn_net) :: net
    integer :: i
    call small_net(net, 5)
    call batch(m, X, T)
    call expect_st(net%predict(X, Y), NN_OK, 'predict col-major')
    call expect_st(net%predict(transpose(X), Yt, order=NN_ROW_MAJOR), NN_OK, &
        'predict row-major')
    call expect(all(Y == transpose(Yt)), 'row-major and column-major: bitwise equal')
    call expect_st(net%get_params(0, W1, b1), NN_OK, 'get_params 0')
    call expect_st(net%get_params(1, W2, b2), NN_OK, 'get_params 1')
    call expect_close(Y, matmul(tanh(matmul(X, W1) + spread(b1, 1, m)), W2) + &
        spread(b2, 1, m), 1e-12_dp, 'predict = the forward pass')

    call expect_st(net%loss(X, T, l1), NN_OK, 'loss col-major')
    call expect_st(net%loss(transpose(X), transpose(T), l2, order=NN_ROW_MAJOR), &
        NN_OK, 'loss row-major')
    call expect(l1 == l2, 'loss: row-major and column-major bitwise equal')
    call expect_st(net%gradient(X, T), NN_OK, 'gradient col-major')
    gp => net%grads()
    allocate(g1(size(gp)))
    g1(:) = gp
    call expect_st(net%gradient(transpose(X), transpose(T), order=NN_ROW_MAJOR), &
        NN_OK, 'gradient row-major')
    call expect(all(g1 == net%grads()), 'gradient: row-major and column-major equal')

    ! a sub-batch as a section of whole columns: contiguous, used in place
    Xb = 0
    Xb(:, 2:4) = X
    call expect_st(net%predict(Xb(:, 2:4), Ys), NN_OK, 'predict on a section')
    call expect(all(Ys == Y), 'section Xb(:, 2:4) = X')

    ! the raw C interface on one row of the column-major X, in place: the
    ! element X(i, 1) starts the row, ld = m steps across (sequence
    ! association), and the wrapper's row-major call on the same sample
    do i = 1, m
      call expect_st(nn_net_predict(net%ptr, c_null_ptr, 1_c_size_t, NN_COL_MAJOR, &
          X(i, 1), int(m, c_size_t), Yr(i, 1), int(m, c_size_t)), NN_OK, &
          'raw predict on one row')
      call expect_st(net%predict(reshape(X(i, :), [3, 1]), Yrow, order=NN_ROW_MAJOR), &
          NN_OK, 'predict one sample')
      call expect(all(Yr(i, :) == Yrow(:, 1)), 'one row: raw C call = wrapper')
    end do
    call net%destroy()
  end subroutine test_layouts

  ! ================================================================ threads
  ! One network shared read-only by an OpenMP team, one context per thread,
  ! a parallel loop over rows (samples are the columns of Xt: each a
  ! contiguous section); bitwise equal to the same calls made serially.
  subroutine test_threads()
    integer, parameter :: m = 300
    real(dp) :: X(m, 3), T(m, 2), Xt(3, m), Ys(2, m), Yp(2, m)
    type(nn_net) :: net
    type(nn_ctx) :: ctx
    integer :: i, bad, nthreads
    call small_net(net, 16)
    call batch(m, X, T)
    Xt = transpose(X)
    call expect_st(ctx%create(net, 1), NN_OK, 'serial context')
    do i = 1, m
      call expect_st(net%predict(Xt(:, i:i), Ys(:, i:i), ctx, NN_ROW_MAJOR), NN_OK, &
          'serial predict')
    end do
    call ctx%destroy()
    Yp = 0
    bad = 0
    nthreads = 1
    !$omp parallel shared(net, Xt, Yp, bad, nthreads)
    call predict_rows(net, Xt, Yp, bad)
    !$omp master
    !$ nthreads = omp_get_num_threads()
    !$omp end master
    !$omp end parallel
    call expect(bad == 0, 'parallel predict: every call NN_OK')
    call expect(all(Yp == Ys), 'parallel predict = serial predict, bitwise')
    print '(a, i0, a)', 'test_fortran: shared-model inference on ', nthreads, &
        ' thread(s)'
    call net%destroy()
  end subroutine test_threads

  ! Each thread's part of the loop, with its own context (a local here, so
  ! private to the thread).
  subroutine predict_rows(net, Xt, Y, bad)
    type(nn_net), intent(in) :: net
    real(dp), intent(in) :: Xt(:, :)
    real(dp), intent(inout) :: Y(:, :)
    integer, intent(inout) :: bad
    type(nn_ctx) :: ctx
    integer :: i, st
    st = ctx%create(net, 1)
    if (st /= NN_OK) then
      !$omp atomic
      bad = bad + 1
    end if
    !$omp do schedule(dynamic, 7)
    do i = 1, size(Xt, 2)
      st = net%predict(Xt(:, i:i), Y(:, i:i), ctx, NN_ROW_MAJOR)
      if (st /= NN_OK) then
        !$omp atomic
        bad = bad + 1
      end if
    end do
    !$omp end do
    call ctx%destroy()
  end subroutine predict_rows

  ! ================================================================ files
  ! Model file and buffer round trips with Fortran strings (a fixed-length
  ! name padded with blanks), optimizer state included; a failed load
  ! reports through nn_error_info and leaves the network as it was.
  subroutine test_model_files()
    character(len=64) :: path
    real(dp) :: X(9, 3), T(9, 2), Y1(9, 2), Y2(9, 2)
    real(dp), pointer :: s1(:), s2(:)
    integer(c_int8_t), allocatable :: buf(:)
    integer(c_int64_t) :: k1, k2
    type(nn_net) :: net, net2, net3
    type(nn_optim) :: opt, opt2
    type(nn_error_info) :: err
    integer :: i, u
    path = 'test_fortran_model.nnm'
    call small_net(net, 5)
    call batch(9, X, T)
    call expect_st(opt%create(net, NN_OPTIM_ADAM), NN_OK, 'adam')
    do i = 1, 3
      call expect_st(net%train_step(opt, X, T), NN_OK, 'train_step')
    end do
    call expect_st(net%save(path, opt), NN_OK, 'save')
    call expect_st(net2%load(path, opt2), NN_OK, 'load')
    call expect(opt2%exists(), 'the file holds the optimizer')
    call expect_st(net%predict(X, Y1), NN_OK, 'predict')
    call expect_st(net2%predict(X, Y2), NN_OK, 'predict loaded')
    call expect(all(Y1 == Y2), 'loaded network predicts bitwise the same')
    s1 => opt%state_view()
    s2 => opt2%state_view()
    call expect(size(s1) == 2 * net%n_params(), 'Adam state: two moments')
    call expect(all(s1 == s2), 'optimizer state restored bit for bit')
    call expect_st(opt2%get(NN_OPTIM_STEPS, k2), NN_OK, 'steps')
    call expect_st(opt%get(NN_OPTIM_STEPS, k1), NN_OK, 'steps')
    call expect(k1 == 3 .and. k2 == 3, 'step count restored')
    open (newunit=u, file=trim(path), status='old')
    close (u, status='delete')

    call expect_st(net%save_mem(buf), NN_OK, 'save_mem')
    call expect_st(net3%load_mem(buf), NN_OK, 'load_mem')
    call expect_st(net3%predict(X, Y2), NN_OK, 'predict from buffer')
    call expect(all(Y1 == Y2), 'buffer round trip: bitwise the same')
    buf(size(buf) / 2) = not(buf(size(buf) / 2))
    call expect_st(net3%load_mem(buf), NN_ERR_FORMAT, 'corrupt buffer refused')

    call expect_st(net2%load('no/such/dir/model.nnm', err=err), NN_ERR_IO, &
        'load of a missing file')
    call expect(len(nnf_string(err%message)) > 0, 'err%message says why')
    call expect_st(net2%predict(X, Y2), NN_OK, 'network kept after a failed load')
    call expect(all(Y1 == Y2), 'network unchanged after a failed load')
    call net%destroy()
    call net2%destroy()
    call net3%destroy()
    call opt%destroy()
    call opt2%destroy()
  end subroutine test_model_files

  ! ================================================================ errors, keys
  ! The wrappers check shapes the C API cannot see (it takes no column
  ! count); keys by type; messages as Fortran strings.
  subroutine test_errors_and_keys()
    real(dp) :: X(7, 3), T(7, 2), Y(7, 2), lo, hi, v
    real(dp) :: Xw(7, 4), Yw(6, 2), mse(3), P(7, 2)
    integer(c_int32_t) :: i32, ptype
    integer(c_int64_t) :: i64
    logical :: writable
    type(nn_net) :: net, none
    type(nn_netspec) :: spec
    type(nn_data) :: data
    call small_net(net, 5)
    call batch(7, X, T)
    Xw = 0
    Yw = 0
    call expect_st(net%predict(Xw, Y), NN_ERR_SHAPE, 'X with 4 columns for 3 inputs')
    call expect_st(net%predict(X, Yw), NN_ERR_SHAPE, 'Y with 6 rows for 7')
    call expect_st(net%predict(X, Y, order=7), NN_ERR_INVALID, 'unknown order')
    call expect_st(none%predict(X, Y), NN_ERR_INVALID, 'a network never created')
    call expect(len(nnf_strerror(NN_ERR_SHAPE)) > 0, 'nnf_strerror')
    call expect(nnf_strerror(NN_ERR_SHAPE) /= nnf_strerror(NN_ERR_INVALID), &
        'nnf_strerror: one message per code')
    call expect(len(nnf_strerror(12345)) > 0, 'nnf_strerror of an unknown code')

    ! keys: one type each; the wrong owner or type is NN_ERR_INVALID
    call expect_st(net%set(NN_NET_REDUCTION, NN_REDUCE_SUM), NN_OK, 'set reduction')
    call expect_st(net%get(NN_NET_REDUCTION, i32), NN_OK, 'get reduction')
    call expect(i32 == NN_REDUCE_SUM, 'reduction read back')
    call expect_st(net%get(NN_NET_LOSS, i64), NN_OK, 'get loss (int64)')
    call expect(i64 == NN_LOSS_MSE, 'loss read back')
    call expect_st(net%get(NN_OPTIM_LR, i64), NN_ERR_INVALID, 'a foreign key')
    call expect_st(net%set(NN_NET_LOSS, NN_LOSS_BCE), NN_ERR_INVALID, 'a read-only key')
    call expect_st(nnf_param_info(NN_LAYER_DROPOUT, value_type=ptype, lo=lo, hi=hi, &
        writable=writable), NN_OK, 'param_info')
    call expect(ptype == NN_PARAM_REAL .and. lo == 0 .and. hi <= 1 .and. writable, &
        'NN_LAYER_DROPOUT: a writable real in [0, 1)')
    call net%destroy()

    ! layer keys through the spec, read back from the network
    call expect_st(spec%create(3, NN_LOSS_MSE), NN_OK, 'spec')
    call expect_st(spec%add_dense(5, NN_ACT_LEAKY_RELU), NN_OK, 'hidden')
    call expect_st(spec%add_dense(2, NN_ACT_IDENTITY), NN_OK, 'output')
    call expect_st(spec%set(NN_LAYER_DROPOUT, 0.25_dp, layer=0), NN_OK, 'dropout')
    call expect_st(spec%set(NN_LAYER_ACT_PARAM, 0.2_dp, layer=0), NN_OK, 'slope')
    call expect_st(spec%set(NN_NET_DROPOUT_SEED, -3_c_int64_t), NN_OK, 'net-wide key')
    call expect_st(spec%set(NN_LAYER_DROPOUT, 0.5_dp, layer=1), NN_OK, 'output dropout')
    call expect_st(net%create(spec), NN_ERR_INVALID, 'dropout on the output refused')
    call expect(.not. net%exists(), 'failed create leaves no network')
    call expect_st(spec%set(NN_LAYER_DROPOUT, 0.0_dp, layer=1), NN_OK, 'no output dropout')
    call expect_st(net%create(spec), NN_OK, 'net')
    call expect_st(net%get_layer(0, NN_LAYER_DROPOUT, v), NN_OK, 'get dropout')
    call expect(v == 0.25_dp, 'dropout read back')
    call expect_st(net%get_layer(0, NN_LAYER_UNITS, i64), NN_OK, 'get units')
    call expect(i64 == 5, 'units read back')
    call expect_st(net%get_layer(0, NN_LAYER_ACTIVATION, i32), NN_OK, 'get activation')
    call expect(i32 == NN_ACT_LEAKY_RELU, 'activation read back')
    call expect_st(net%get(NN_NET_DROPOUT_SEED, i64), NN_OK, 'get seed')
    call expect(i64 == -3, 'a 64-bit seed above 2^63 travels as a negative number')
    call spec%destroy()
    call net%destroy()

    ! metrics over a data set against the predictions, computed here
    call small_net(net, 5)
    call expect_st(data%create(X), NN_OK, 'data create')
    call expect_st(data%set_targets(T), NN_OK, 'data targets')
    call expect(data%rows() == 7, 'data rows')
    call expect(data%cols() == 3, 'data columns')
    call expect(data%n_targets() == 2, 'data targets')
    call expect(all(data%x() == transpose(X)), 'data%x(): one sample per column')
    call expect_st(net%predict(X, P), NN_OK, 'predict')
    call expect_st(net%evaluate(data, [NN_METRIC_MSE, NN_METRIC_MSE_OUTPUTS], mse), &
        NN_OK, 'evaluate')
    call expect_close(mse(1), sum((P - T)**2) / 14, 1e-12_dp, 'MSE')
    call expect_close(mse(2:3), sum((P - T)**2, dim=1) / 7, 1e-12_dp, 'MSE per output')
    call expect_st(net%evaluate(data, [NN_METRIC_MSE, NN_METRIC_MSE_OUTPUTS], mse(1:2)), &
        NN_ERR_SHAPE, 'values too short for the per-output metric')
    call data%destroy()
    call net%destroy()
  end subroutine test_errors_and_keys

  ! ================================================================ trainer
  ! nn_train with a report callback and a gradient hook written in Fortran:
  ! 64 rows, batches of 16, 3 epochs, no shuffling: 3 reports, 12 steps.
  subroutine test_trainer()
    real(dp) :: X(64, 2), T(64, 1), v
    integer(c_int64_t) :: steps, epochs
    type(seen_t), target :: seen
    type(nn_netspec) :: spec
    type(nn_net) :: net
    type(nn_optim) :: opt
    type(nn_trainer) :: tr
    type(nn_data) :: data
    integer :: i
    do i = 1, 64
      X(i, :) = [cos(0.1_dp * i), sin(0.37_dp * i)]
    end do
    T(:, 1) = X(:, 1) * X(:, 2)
    call expect_st(spec%create(2, NN_LOSS_MSE), NN_OK, 'spec')
    call expect_st(spec%add_dense(8, NN_ACT_TANH), NN_OK, 'hidden')
    call expect_st(spec%add_dense(1, NN_ACT_IDENTITY), NN_OK, 'output')
    call expect_st(net%create(spec), NN_OK, 'net')
    call expect_st(opt%create(net, NN_OPTIM_ADAM), NN_OK, 'adam')
    call expect_st(data%create(X), NN_OK, 'data')
    call expect_st(data%set_targets(T), NN_OK, 'targets')
    call expect_st(tr%create(), NN_OK, 'trainer')
    call expect_st(tr%set(NN_TRAIN_EPOCHS, 3), NN_OK, 'epochs')
    call expect_st(tr%set(NN_TRAIN_BATCH_SIZE, 16), NN_OK, 'batch size')
    call expect_st(tr%set(NN_TRAIN_SHUFFLE, 0), NN_OK, 'no shuffle')
    call expect_st(tr%set_report(on_report, c_loc(seen)), NN_OK, 'report callback')
    call expect_st(tr%set_grad_hook(on_grad, c_loc(seen)), NN_OK, 'gradient hook')
    call expect_st(tr%train(net, opt, data), NN_OK, 'train')
    call expect(seen%reports == 3 .and. seen%hooks == 12 .and. seen%bad == 0, &
        'callbacks: 3 epoch reports, 12 hooked steps, as expected')
    call expect_st(tr%get(NN_TRAIN_STEPS_RUN, steps), NN_OK, 'steps run')
    call expect_st(tr%get(NN_TRAIN_EPOCHS_RUN, epochs), NN_OK, 'epochs run')
    call expect(steps == 12 .and. epochs == 3, 'results: 12 steps, 3 epochs')
    call expect_st(tr%get(NN_TRAIN_FINAL_LOSS, v), NN_OK, 'final loss')
    call expect(v == seen%last_train_loss, 'final loss = the last report''s')
    call tr%destroy()
    call data%destroy()
    call opt%destroy()
    call net%destroy()
    call spec%destroy()
  end subroutine test_trainer

  ! A run paused at epoch 2 of 4, checkpointed to memory and resumed in
  ! fresh objects ends with the parameters of the run never paused.
  subroutine test_checkpoint()
    real(dp) :: X(40, 2), T(40, 1)
    real(dp), allocatable :: want(:)
    real(dp), pointer :: p(:)
    integer(c_int8_t), allocatable :: buf(:)
    integer(c_int64_t) :: paused
    type(nn_netspec) :: spec
    type(nn_net) :: net, net2
    type(nn_optim) :: opt, opt2
    type(nn_trainer) :: tr, tr2
    type(nn_data) :: data
    integer :: i, pass
    do i = 1, 40
      X(i, :) = [cos(0.3_dp * i), sin(0.11_dp * i)]
    end do
    T(:, 1) = X(:, 1) - X(:, 2) ** 2
    call expect_st(spec%create(2, NN_LOSS_MSE), NN_OK, 'ckpt spec')
    call expect_st(spec%add_dense(5, NN_ACT_TANH), NN_OK, 'ckpt hidden')
    call expect_st(spec%add_dense(1, NN_ACT_IDENTITY), NN_OK, 'ckpt output')
    call expect_st(data%create(X), NN_OK, 'ckpt data')
    call expect_st(data%set_targets(T), NN_OK, 'ckpt targets')
    do pass = 1, 2
      call expect_st(net%create(spec), NN_OK, 'ckpt net')
      call expect_st(opt%create(net, NN_OPTIM_ADAM), NN_OK, 'ckpt adam')
      call expect_st(tr%create(), NN_OK, 'ckpt trainer')
      call expect_st(tr%set(NN_TRAIN_EPOCHS, 4), NN_OK, 'ckpt epochs')
      call expect_st(tr%set(NN_TRAIN_BATCH_SIZE, 8), NN_OK, 'ckpt batch')
      if (pass == 2) then
        call expect_st(tr%checkpoint_save_mem(buf, net, opt), NN_ERR_STATE, &
            'no progress to save yet')
        call expect_st(tr%set_report(pause_at_2), NN_OK, 'pausing callback')
      end if
      call expect_st(tr%train(net, opt, data), NN_OK, 'ckpt train')
      if (pass == 1) then
        p => net%params()
        want = p
      else
        call expect_st(tr%get(NN_TRAIN_PAUSED, paused), NN_OK, 'paused?')
        call expect(paused == 1, 'the run paused')
        call expect_st(tr%checkpoint_save_mem(buf, net, opt), NN_OK, &
            'checkpoint to memory')
        call expect_st(tr2%create(), NN_OK, 'fresh trainer')
        call expect_st(tr2%set(NN_TRAIN_EPOCHS, 4), NN_OK, 'fresh epochs')
        call expect_st(tr2%set(NN_TRAIN_BATCH_SIZE, 8), NN_OK, 'fresh batch')
        call expect_st(tr2%checkpoint_load_mem(buf, net2, opt2), NN_OK, &
            'checkpoint from memory')
        call expect_st(tr2%set(NN_TRAIN_RESUME, 1), NN_OK, 'resume')
        call expect_st(tr2%train(net2, opt2, data), NN_OK, 'resumed train')
        p => net2%params()
        call expect(all(p == want), 'resumed = never paused, bit for bit')
        call tr2%destroy()
        call opt2%destroy()
        call net2%destroy()
      end if
      call tr%destroy()
      call opt%destroy()
      call net%destroy()
    end do
    call data%destroy()
    call spec%destroy()
  end subroutine test_checkpoint

  ! ================================================================ layer, scaler, lstsq
  ! One dense layer forward and backward against its formulas; a standard
  ! scaler against the column means and population deviations; least
  ! squares on exactly linear data; a context placed in a Fortran array.
  subroutine test_layer_scaler_lstsq()
    real(dp) :: X(7, 3), T(7, 2), W(3, 2), b(2), A(7, 2), dA(7, 2), dX(7, 3)
    real(dp) :: dZ(7, 2), gW(3, 2), gb(2), off(3), scl(3), Xs(7, 3), w3(3), b0
    real(dp) :: Y1(7, 2), Y2(7, 2)
    real(dp), pointer :: Wv(:, :)
    real(dp), allocatable :: arena(:)
    integer(c_size_t) :: bytes
    type(nn_dense) :: layer
    type(nn_scaler) :: sc
    type(nn_net) :: net
    type(nn_ctx) :: c1, c2
    integer :: i
    call batch(7, X, T)
    W = reshape([0.3_dp, -0.2_dp, 0.5_dp, 0.1_dp, 0.7_dp, -0.4_dp], [3, 2])
    b = [0.05_dp, -0.1_dp]
    call expect_st(layer%create(3, 2, NN_ACT_TANH), NN_OK, 'dense create')
    call expect_st(layer%set_params(W, b), NN_OK, 'dense set_params')
    Wv => layer%weights()
    call expect(all(Wv == transpose(W)), 'dense weights(): W(n_out, n_in) view')
    call expect_st(layer%forward(X, A), NN_OK, 'dense forward')
    call expect_close(A, tanh(matmul(X, W) + spread(b, 1, 7)), 1e-13_dp, &
        'dense: A = tanh(X W + b)')
    dA = T
    call expect_st(layer%backward(X, dA, dX), NN_OK, 'dense backward')
    dZ = dA * (1 - A**2)
    call expect_st(layer%get_grads(gW, gb), NN_OK, 'dense get_grads')
    call expect_close(gW, matmul(transpose(X), dZ), 1e-13_dp, 'dense: dW = X^T dZ')
    call expect_close(gb, sum(dZ, dim=1), 1e-13_dp, 'dense: db = sum dZ')
    call expect_close(dX, matmul(dZ, transpose(W)), 1e-13_dp, 'dense: dX = dZ W^T')
    call layer%destroy()

    call expect_st(sc%fit(NN_SCALE_STANDARD, X), NN_OK, 'scaler fit')
    call expect_st(sc%get_params(off, scl), NN_OK, 'scaler get_params')
    call expect_close(off, sum(X, dim=1) / 7, 1e-13_dp, 'scaler offsets: means')
    call expect_close(scl, sqrt(sum((X - spread(off, 1, 7))**2, dim=1) / 7), &
        1e-13_dp, 'scaler scales: population deviations')
    Xs = X
    call expect_st(sc%apply(Xs), NN_OK, 'scaler apply')
    call expect_close(Xs, (X - spread(off, 1, 7)) / spread(scl, 1, 7), 1e-13_dp, &
        'scaler apply')
    call expect_st(sc%invert(Xs), NN_OK, 'scaler invert')
    call expect_close(Xs, X, 1e-13_dp, 'scaler invert')
    call sc%destroy()

    ! (batch's columns sin(3i + k) span only {sin 3i, cos 3i}: rank 2. Here
    ! columns i/7, (i/7)^2 and sin i, independent of each other and of 1.)
    do i = 1, 7
      Xs(i, :) = [i / 7.0_dp, (i / 7.0_dp)**2, sin(real(i, dp))]
    end do
    call expect_st(nnf_lstsq(Xs, matmul(Xs, [1.5_dp, -2.0_dp, 0.25_dp]) + 0.75_dp, &
        w3, b0), NN_OK, 'lstsq')
    call expect_close(w3, [1.5_dp, -2.0_dp, 0.25_dp], 1e-10_dp, 'lstsq weights')
    call expect_close(b0, 0.75_dp, 1e-10_dp, 'lstsq intercept')

    call small_net(net, 5)
    call expect_st(net%ctx_size(16, bytes), NN_OK, 'ctx_size')
    allocate(arena(bytes / c_sizeof(1.0_dp) + 1))
    call expect_st(c1%create_in(net, 16, arena), NN_OK, 'context in Fortran memory')
    call expect_st(c2%create(net, 16), NN_OK, 'context')
    call expect(c1%capacity() == 16, 'context capacity')
    call expect_st(net%predict(X, Y1, c1), NN_OK, 'predict, caller-memory context')
    call expect_st(net%predict(X, Y2, c2), NN_OK, 'predict, allocated context')
    call expect(all(Y1 == Y2), 'the two contexts: bitwise equal results')
    call c1%destroy()
    call c2%destroy()
    call net%destroy()
  end subroutine test_layer_scaler_lstsq

  ! ================================================================ CSV, confusion
  ! A CSV file written here (header, label in column 2), loaded, its labels
  ! as one-hot rows, the confusion matrix of the notes' network on it
  ! against one counted from its predictions, a feature column moved into
  ! targets.
  subroutine test_csv_confusion()
    character(len=*), parameter :: path = 'test_fortran_data.csv'
    real(dp), parameter :: X(6, 2) = reshape([0.5_dp, -0.3_dp, 1.5_dp, -1.1_dp, &
        0.2_dp, 2.0_dp, -1.2_dp, 0.8_dp, 0.4_dp, -0.7_dp, 1.9_dp, -2.0_dp], [6, 2])
    integer(c_int32_t), parameter :: labels(6) = [0, 1, 1, 0, 1, 0]
    real(dp) :: Y(6, 2), P(6, 1)
    real(dp), pointer :: tg(:, :)
    integer(c_size_t) :: counts(2, 2), want(2, 2)
    type(nn_data) :: data
    type(nn_net) :: net
    integer :: u, i
    open (newunit=u, file=path, status='replace', action='write')
    write (u, '(a)') 'x1,x2,label', '0.5,-1.2,0', '-0.3,0.8,1', '1.5,0.4,1', &
        '-1.1,-0.7,0', '0.2,1.9,1', '2.0,-2.0,0'
    close (u)
    call expect_st(data%read_csv(path, delimiter=',', label_col=2), NN_OK, &
        'read_csv, header detected')
    call expect(data%rows() == 6 .and. data%name(NN_NAME_LABEL, 0) == 'label', &
        'read_csv: 6 rows, the label named')
    call data%destroy()
    call expect_st(data%load_csv(path, header=.true., label_col=2), NN_OK, 'load_csv')
    open (newunit=u, file=path, status='old')
    close (u, status='delete')
    call expect(data%rows() == 6, 'CSV rows')
    call expect(data%name(NN_NAME_FEATURE, 1) == 'x2', 'CSV header name')
    call expect(data%name(NN_NAME_FEATURE, 2) == '', 'no third feature name')
    call expect(data%cols() == 2, 'CSV columns')
    call expect(data%n_classes() == 2, 'CSV classes')
    call expect(all(data%labels() == labels), 'CSV labels')
    call expect(all(data%x() == transpose(X)), 'CSV features')
    call expect_st(data%one_hot(Y), NN_OK, 'one_hot')
    do i = 1, 6
      call expect(Y(i, labels(i) + 1) == 1 .and. sum(Y(i, :)) == 1, 'one-hot row')
    end do

    call notes_net(NN_ACT_TANH, net, reshape([0.4_dp, -0.6_dp, -0.7_dp, 0.3_dp, &
        0.25_dp, 0.9_dp, 1.1_dp, -0.45_dp], [2, 4]), [0.1_dp, -0.2_dp, 0.05_dp, &
        0.3_dp], [0.8_dp, -1.3_dp, 0.6_dp, 1.05_dp], -0.15_dp)
    call expect_st(net%predict(X, P), NN_OK, 'predict')
    want = 0
    do i = 1, 6  ! one output: p > 0.5 counts as class 1
      want(labels(i) + 1, merge(2, 1, P(i, 1) > 0.5_dp)) = &
          want(labels(i) + 1, merge(2, 1, P(i, 1) > 0.5_dp)) + 1
    end do
    call expect_st(net%confusion(data, counts), NN_OK, 'confusion')
    call expect(all(counts == want), 'confusion: counts(true+1, predicted+1)')
    call net%destroy()

    call expect_st(data%take_targets([1]), NN_OK, 'take_targets')
    tg => data%targets()
    call expect(data%cols() == 1, 'one feature column left')
    call expect(data%n_targets() == 1, 'column 1 now a target')
    call expect(all(tg(1, :) == X(:, 2)), 'the target column')
    call data%destroy()
  end subroutine test_csv_confusion

  ! ================================================================ ownership
  ! Every byte goes back to an allocator written in Fortran: through destroy,
  ! through the final procedure of a deallocated array of handles, through
  ! assigning an empty handle; re-creating a handle releases the old object.
  subroutine test_ownership()
    integer(c_size_t), target :: live
    type(nn_allocator) :: al
    type(nn_netspec) :: spec, spec2
    type(nn_net) :: net, empty
    type(nn_ctx), allocatable :: ctxs(:)
    integer(c_size_t) :: one_net
    integer :: i
    live = 0
    al%alloc = c_funloc(count_alloc)
    al%free = c_funloc(count_free)
    al%ctx = c_loc(live)
    call expect_st(spec%create(3, NN_LOSS_MSE, alloc=al), NN_OK, 'spec')
    call expect_st(spec%add_dense(4, NN_ACT_RELU), NN_OK, 'hidden')
    call expect_st(spec%add_dense(2, NN_ACT_IDENTITY), NN_OK, 'output')
    call expect_st(net%create(spec, alloc=al), NN_OK, 'net')
    call spec%destroy()
    one_net = live
    call expect(one_net > 0, 'the network allocated through the Fortran allocator')
    call expect_st(spec2%from_net(net), NN_OK, 'netspec_from_net (malloc)')
    call expect_st(net%create(spec2, alloc=al), NN_OK, 're-create')
    call spec2%destroy()
    call expect(live == one_net, 're-creating released the old network')
    allocate(ctxs(3))
    do i = 1, 3
      call expect_st(ctxs(i)%create(net, 8, alloc=al), NN_OK, 'context')
    end do
    call expect(live > one_net, 'contexts allocated')
    deallocate(ctxs)
    call expect(live == one_net, 'deallocated contexts finalized')
    net = empty
    call expect(live == 0 .and. .not. net%exists(), 'net = empty destroyed it')
  end subroutine test_ownership
end program test_fortran
