"""The pages' words, Chinese first (the default) and English (the switch at the top of each page)."""

from __future__ import annotations

from models.schema import ERROR_TYPES, ITEM_KINDS, SUBJECTS, SUBJECTS_EN
from models.schema import WEEKDAYS as WEEKDAYS  # the pages' weekday names, shared with the domain

LANGS = ("zh", "en")
HTML_LANG = {"zh": "zh-CN", "en": "en"}

KINDS_EN = {"written": "written", "oral": "oral", "reading": "reading", "practical": "practical",
            "physical": "exercise"}  # fmt: skip
ERRORS_EN = {"concept": "concept unclear", "calculation": "calculation", "careless": "careless",
             "reading": "misread the question"}  # fmt: skip
TIERS = {"basic": ("基础（必做）", "basic (required)"), "extension": ("拓展（选做）", "extension (optional)")}
STATUSES = {"draft": ("草稿", "draft"), "published": ("已发布", "published"), "done": ("已完成", "done"),
            "exempted": ("免写", "excused"), "discarded": ("已撤销", "discarded")}  # fmt: skip

WORDS: dict[str, tuple[str, str]] = {
    "app": ("减负 · 分层作业", "jianfu · tiered homework"),
    "skip": ("跳到正文", "Skip to content"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "wrong_password": ("用户名或密码不对", "Wrong username or password"),
    "too_many_sign_ins": (
        "登录尝试过多，请 {n} 秒后再试。",
        "Too many sign-in attempts; try again in {n} seconds.",
    ),
    "login_form_refused": (
        "登录表单已过期或来自其他网站，没有登录。请在本页重新登录。",
        "The sign-in form had expired or came from another site; nobody was signed in. Sign in on this page.",
    ),
    "signed_in_as": ("当前账号", "Signed in as"),
    "language": ("语言", "Language"),
    "plan_title": ("布置作业", "Plan homework"),
    "class": ("班级", "Class"),
    "subject": ("学科", "Subject"),
    "night": ("日期（当晚）", "Evening"),
    "choose": ("选择", "Choose"),
    "todays_points": ("今天讲授的知识点", "Knowledge points taught today"),
    "taught_already": ("已讲授", "taught already"),
    "make_plan": ("生成分层作业", "Make tiered sets"),
    "preview": ("预览", "Preview"),
    "student": ("学生", "Student"),
    "basic": ("基础（必做）", "Basic (required)"),
    "extension": ("拓展（选做）", "Extension (optional)"),
    "minutes": ("分钟", "min"),
    "levels": ("掌握等级", "Mastery levels"),
    "evening": ("当晚作业总量", "The whole evening"),
    "cap": ("上限", "cap"),
    "status": ("状态", "Status"),
    "edit": ("修改", "Edit"),
    "publish": ("发布全部草稿", "Publish all drafts"),
    "published_n": ("已发布 {n} 份", "{n} sets published"),
    "no_sets": ("这一晚还没有作业。", "No homework for this evening yet."),
    "worksheets": ("打印作业单", "Print worksheets"),
    "worksheets_pdf": ("下载 PDF", "Download PDF"),
    "edit_title": ("修改 {name} 的作业", "Edit {name}'s set"),
    "keep": ("保留", "keep"),
    "tier": ("层次", "Tier"),
    "add_items": ("加入题目（题号，每行一个）", "Add items (item ids, one per line)"),
    "check_save": ("检查并保存", "Check and save"),
    "violations": ("这份作业不能保存：", "This set cannot be saved:"),
    "rule": ("规则", "Rule"),
    "back": ("返回", "Back"),
    "saved": ("已保存并重新核验", "Saved and verified again"),
    "item": ("题目", "Item"),
    "kind": ("类型", "Kind"),
    "reason": ("原因", "Why"),
    "answer_space": ("作答区", "Answer"),
    # scanned worksheets (service/scanning)
    "mark_right": ("对", "R"),
    "mark_wrong": ("错", "W"),
    "mark_half": ("半对", "½"),
    "mark_not_done": ("未做", "—"),
    "marks_hint": ("老师批改：在一个格里打勾或涂黑", "Teacher: tick or fill one box"),
    "time_bubbles": ("实际用时（分钟），各涂一个圈：", "Minutes spent, fill one bubble per row:"),
    "time_tens": ("十位", "tens"),
    "time_units": ("个位", "units"),
    "page_of": ("第 {page}/{pages} 页", "page {page}/{pages}"),
    "scans_title": ("上传批改后的作业单", "Upload marked worksheets"),
    "scans_upload": ("上传扫描件", "Upload scans"),
    "scans_how": (
        "扫描仪 PDF（150-300 dpi）或手机照片均可，页序、方向不限；清楚的批改直接记入作答和错题本，不清楚的格子留给您确认。",
        "Scanner PDFs (150-300 dpi) or phone photos, pages in any order and any way up; clear marks are stored as answers and in the error book, unclear boxes wait for you.",
    ),
    "scans_files": ("文件", "Files"),
    "scans_send": ("上传并读取", "Upload and read"),
    "scans_pages_read": ("已读 {n} 页", "{n} pages read"),
    "scans_refresh": ("刷新", "refresh"),
    "scans_result": (
        "共 {pages} 页，读取 {read} 页；新记入作答 {stored} 条（已有 {already} 条），待确认 {review} 个，更正 {corrections} 个，新错题 {book} 条，用时 {times} 份",
        "{pages} pages, {read} read; {stored} answers stored ({already} already), {review} to review, {corrections} corrections, {book} new error-book entries, {times} times",
    ),
    "scans_unreadable": ("未能读取的页面", "Pages that could not be read"),
    "scans_queue": ("待确认", "To review"),
    "scans_queue_empty": ("没有待确认的格子。", "Nothing to review."),
    "scans_item": ("题目", "Item"),
    "scans_as_scanned": ("扫描所见", "As scanned"),
    "scans_answer": ("您的判断", "Your answer"),
    "scans_time": ("实际用时", "Time spent"),
    "scans_correction": ("已记为“{old}”，重新扫描读到“{new}”", "stored as '{old}', the rescan reads '{new}'"),
    "scans_confirm": ("确认", "Confirm"),
    "scans_keep": ("保留原记录", "Keep"),
    "scans_crop_alt": ("{name} 第 {n} 题的批改格", "{name}'s boxes of item {n}"),
    "scans_time_alt": ("{name} 涂写的实际用时", "{name}'s time bubbles"),
    "time_spent": ("实际用时：______ 分钟", "Time spent: ______ min"),
    "parent_sign": (
        "家长签字（如今晚免写，请注明）：",
        "Parent's signature (write 'excused' if tonight is excused):",
    ),
    "needs_parent": ("需家长协助", "with a parent"),
    "estimated": ("预计", "about"),
    "tonight": ("今晚的作业", "Tonight's homework"),
    "done": ("已完成", "Done"),
    "mark_done": ("提交", "Submit"),
    "result": ("结果", "Result"),
    "right": ("做对了", "Right"),
    "wrong": ("做错了", "Wrong"),
    "spent": ("用时（分钟）", "Time spent (minutes)"),
    "error_book": ("错题本", "Error book"),
    "no_errors": ("错题本里没有未解决的题。", "No open entries in the error book."),
    "since": ("记录于", "since"),
    "bedtime": ("就寝时间", "Bedtime"),
    "planned": ("预计用时", "Planned"),
    "excuse": ("家长签字免写今晚作业", "Excuse tonight's written work (parent)"),
    "excused": ("今晚已免写", "Excused tonight"),
    "school_evening": ("学生当晚作业", "Each student's evening"),
    "exempt": ("免写", "excused"),
    "reported": ("家长反馈用时", "Reported time"),
    "notice": ("作业公示", "Weekly homework notice"),
    "week_of": ("所在周", "Week of"),
    "per_student": ("每名学生平均", "average per student"),
    "items_n": ("题数", "items"),
    "total": ("合计", "total"),
    "notice_note": ("公示全班平均作业量，不含任何个人信息。", "Class averages only; no individual data."),
    "notice_empty": (
        "这一周没有通过本系统布置（已发布）的作业，所以下表都是 0。家长报告的实际用时见“作业负担”图。",
        "No homework was handed out through jianfu this week, so the table shows zeros. The time "
        "families reported is in the burden chart.",
    ),
    "burden": ("作业负担监测", "Homework burden"),
    "from": ("从", "From"),
    "to": ("到", "To"),
    "estimated_minutes": ("预计用时（平均）", "Estimated (average)"),
    "reported_minutes": ("反馈用时（平均）", "Reported (average)"),
    "over_cap": ("反馈超时人数", "Reported over the cap"),
    "over_cap_bar": ("反馈用时超过上限", "Reported above the cap"),
    "allocations": ("作业时间分配", "Homework time allocation"),
    "weekday": ("星期", "Weekday"),
    "weights": ("各科占比（权重）", "Each subject's weight"),
    "save": ("保存", "Save"),
    "print": ("打印", "Print"),
    "home": ("首页", "Home"),
    "error": ("出错了", "Something went wrong"),
    "forbidden_form": (
        "表单已过期，请刷新页面后重试。",
        "The form has expired; reload the page and try again.",
    ),
    "no_homework_grade": ("本年级不布置书面家庭作业。", "No written homework in this grade."),
    "model_version": ("模型版本", "Model version"),
    # the teacher's preview, re-planning and edit page (issue 17)
    "class_summary": ("全班概况", "Class summary"),
    "state_counts": (
        "已发布 {p} 人 · 草稿 {d} 人 · 还没有作业 {n} 人",
        "{p} published · {d} drafts · {n} without a set",
    ),
    "tier_minutes": (
        "{tier}：{n} 名学生，典型用时 {low}–{high} 分钟（中间值 {middle}）",
        "{tier}: {n} students, typically {low}–{high} min (middle {middle})",
    ),
    "points_covered": ("今晚作业涉及的知识点", "Points in tonight's sets"),
    "point": ("知识点", "Point"),
    "students_n": ("学生数", "Students"),
    "level_counts_note": ("各等级人数（等级不是排名）", "Students at each level (levels, not ranks)"),
    "attention": (
        "需要关注（近两周新课处于 D 级）",
        "Needs attention (level D on a point taught in the last two weeks)",
    ),
    "attention_none": ("没有学生在近两周新课上处于 D 级。", "No student is at level D on a recent point."),
    "set_minutes": (
        "典型 {typical} 分钟 · 保守 {bound} 分钟",
        "typically {typical} min · at most {bound} min",
    ),
    "items_count": ("基础 {b} 题 · 拓展 {e} 题", "{b} basic · {e} extension"),
    "show_items": ("查看题目", "Show the items"),
    "subject_share": (
        "{subject} {held} / {share} 分钟（今晚{subject}份额）",
        "{subject} {held} / {share} min (tonight's {subject} share)",
    ),
    "evening_total": ("整晚 {held} / {cap} 分钟", "whole evening {held} / {cap} min"),
    "replan_title": ("本晚已经生成过作业", "Sets already exist for this evening"),
    "replan_state": (
        "已发布 {p} 人、草稿 {d} 人、还没有作业 {n} 人。已发布的作业不会被改动。",
        "{p} published, {d} drafts, {n} without a set. Published sets are never changed.",
    ),
    "replan_missing": ("只给还没有作业的学生生成", "Plan only the students without a set"),
    "replan_replace": ("替换草稿，重新生成（不动已发布的）", "Replace the drafts (published sets stay)"),
    "publish_over": (
        "{n} 名学生已有已发布的作业，他们的草稿不会再发布。",
        "{n} students already have a published set; their drafts are not published on top.",
    ),
    "teacher_chose": ("教师选题", "chosen by the teacher"),
    "bank": ("题库", "Item bank"),
    "bank_search": ("查找题目", "Find items"),
    "words": ("关键词", "Words"),
    "any": ("全部", "any"),
    "add": ("加入", "Add"),
    "page_n": ("第 {n} 页", "page {n}"),
    "next_page": ("下一页", "Next page"),
    "prev_page": ("上一页", "Previous page"),
    "no_items_found": ("没有找到题目。", "No items found."),
    "own_item": ("加入自编题或练习册题目", "Add your own item or a workbook exercise"),
    "own_text": ("题目内容（例如：练习册 P23 第1-5题）", "Text (e.g. workbook p.23 exercises 1-5)"),
    "own_minutes": ("您估计的用时（分钟）", "Your estimate (minutes)"),
    "own_saved": ("已加入本校题库并放入这份作业", "Added to your school's bank and to this set"),
    "data_title": ("数据组", "Data team"),
    "data_model": ("在用的模型", "The model being served"),
    "data_model_served": ("正在使用 jianfu 第 {v} 版（champion）", "Serving jianfu version {v} (champion)"),
    "data_model_none": ("还没有加载模型", "No model loaded"),
    "data_reload": ("立即查找新的 champion", "Look for a new champion now"),
    "data_model_how": (
        "训练：jianfu train；比较与晋升：jianfu models list / jianfu models promote。服务会自动换用新的 champion。",
        "Train with `jianfu train`; compare and promote with `jianfu models list` / `jianfu models promote`. The service picks up a new champion by itself.",
    ),
    "data_imports": ("导入", "Imports"),
    "data_imports_how": (
        "用 POST /v1/imports 上传 CSV/Parquet 文件（或 jianfu data import）：全部写入，或一行有错就全不写入。",
        "Upload CSV/Parquet files with POST /v1/imports (or `jianfu data import`): all rows are written, or none if any row is wrong.",
    ),
    "data_no_imports": ("这个账号还没有导入过数据。", "This account has not imported anything yet."),
    "data_job": ("任务", "Job"),
    "data_files": ("文件", "Files"),
    "data_problems": ("问题", "Problems"),
    "data_dry_run": ("只检查", "check only"),
    "job_queued": ("排队中", "queued"),
    "job_running": ("进行中", "running"),
    "job_done": ("已完成", "done"),
    "job_failed": ("失败", "failed"),
    "job_interrupted": ("被中断", "interrupted"),
    "data_exports": ("导出", "Exports"),
    "data_exports_how": (
        "学生以加密哈希出现，不含学号和姓名。",
        "Students appear as keyed hashes: no ids, no names.",
    ),
    "data_export_attempts": ("作答记录", "Answers"),
    "data_export_error_book": ("错题本", "Error book"),
    "data_api": ("API 文档", "API documentation"),
    "data_health": ("模型健康（线上数据）", "Model health on live data"),
    "data_health_how": (
        "最近 {days} 个晚上（{start} 至 {until}）的 {n} 条作答：P(正确) 的校准误差与可靠性曲线、时间上界对真实晚上的覆盖率、作答由谁批改。",
        "The {n} answers of the last {days} nights ({start} to {until}): calibration error and reliability curve "
        "of P(correct), how often the time bound covered real evenings, who marked the answers.",
    ),
    "data_health_flags": ("提示", "Flags"),
    "data_health_none": (
        "没有提示：校准与覆盖率都在正常范围内。",
        "No flags: calibration and coverage are within bounds.",
    ),
    "data_health_groups": ("校准（按学校和学科）", "Calibration (by school and subject)"),
    "data_health_coverage": ("时间上界覆盖率（目标 {target}）", "Time-bound coverage (target {target})"),
    "data_health_school": ("学校", "School"),
    "data_health_subject": ("学科", "Subject"),
    "data_health_answers": ("作答数", "Answers"),
    "data_health_ece": ("校准误差", "Calibration error"),
    "data_health_curve": (
        "可靠性曲线（横轴：预测正确率，纵轴：实际正确率）",
        "Reliability curve (across: predicted, up: observed)",
    ),
    "data_health_sources": ("批改来源", "Marked by"),
    "data_health_timed": ("计时作答的晚上", "Evenings of timed answers"),
    "data_health_reported": ("家长报告的晚上", "Evenings families reported"),
    "data_health_reference": ("注册时的校准误差：{v}", "Calibration error at registration: {v}"),
    "data_health_empty": ("这段时间没有作答，无从判断。", "No answers in this window: nothing to judge."),
    "data_docs": ("接口文档", "API reference"),
    "reloaded": ("已重新查找模型", "Looked for a new model"),
    "no_time_students": ("涉及本班 {n} 名学生", "{n} students of the class"),
    "split_default": ("学校默认分配", "the school's default"),
    "split_set": ("班主任设定", "set by the head teacher"),
    "allocation_minutes": (
        "每天各科的作业时间（分钟，按每晚上限 {cap} 分钟计算）。没有设定的日子按学校默认分配；修改权重即可调整。",
        "Each day's homework minutes per subject (of the {cap}-minute evening cap). Days not set use the school's default; change the weights to adjust.",
    ),
    "weight": ("权重", "weight"),
    # the next day's 讲评 report (issue 16)
    "review": ("作业讲评", "Homework review"),
    "review_summary": (
        "{set_to} 名学生有作业，{handed_in} 名已交，{missing} 名未交",
        "{set_to} students were set work; {handed_in} handed in, {missing} have not",
    ),
    "review_excused": ("另有 {n} 名学生家长签字免写", "{n} more were excused by a parent"),
    "review_missing": ("未交作业的学生", "Who has not handed in"),
    "review_missing_note": (
        "仅本班任课教师和班主任可见，请勿公开。",
        "For the class's teachers only; do not show it to the class.",
    ),
    "review_none_missing": ("全部已交。", "Everyone has handed in."),
    "review_points": ("知识点（D 等人数多的在前）", "Knowledge points (most students at level D first)"),
    "review_point": ("知识点", "Knowledge point"),
    "review_levels": ("各等级人数 A / B / C / D", "Students at level A / B / C / D"),
    "review_at_d": ("D 等占比", "Share at D"),
    "review_right": ("对", "right"),
    "review_wrong": ("错", "wrong"),
    "review_not_done": ("未做", "not done"),
    "review_most_missed": ("错得最多的题", "Most-missed items"),
    "review_wrong_answers": ("常见错误答案", "Wrong answers typed most often"),
    "review_no_typed": (
        "本晚的作答没有输入答案，只统计对错。",
        "No answers were typed this evening; only right and wrong are counted.",
    ),
    "review_none_wrong": ("没有做错的题。", "No item was answered wrong."),
    "review_items": ("逐题统计", "Item by item"),
    "review_set_to": ("布置人数", "set to"),
    "review_time": ("用时：反馈与预计", "Time: reported against estimated"),
    "review_estimated": ("预计（分钟）", "Estimated (min)"),
    "review_reported": ("作答用时中位数（分钟）", "Median answered (min)"),
    "review_evening_reports": (
        "{n} 名学生反馈了当晚总用时",
        "{n} students reported the whole evening's time",
    ),
    "review_evening": ("当晚总用时（所有学科，平均）", "The whole evening (every subject, average)"),
    "review_subject_time": ("本科作业（平均）", "This subject's set (average)"),
    "review_no_sets": (
        "这一晚本班这门学科没有已发布的作业。",
        "No homework was published for this class and subject that evening.",
    ),
    "review_counts_only": (
        "只统计人数，不排名，不显示任何学生的成绩。",
        "Counts only: no ranking, no student's results.",
    ),
    "review_times": ("{n} 人计时", "{n} timed"),
    # the student's evening (issues 16 and 17)
    "your_answer": ("答案", "Your answer"),
    "self_report": ("自评", "self-report"),
    "choose_result": ("请选择", "Choose"),
    "graded_right": ("✔ 答对了", "✔ Right"),
    "graded_wrong": ("✘ 答错了，这道题已记入错题本", "✘ Wrong: the item is in the error book now"),
    "spent_so_far": ("已用", "spent so far"),
    "excused_note": (
        "今晚的书面作业不用做，也不会移到明天（T12）。",
        "Tonight's written work is not to be done, and none of it moves to tomorrow (T12).",
    ),
    "undo_excuse": ("撤销免写（今晚继续做作业）", "Undo the excuse (do tonight's work after all)"),
    "excuse_undone": (
        "已撤销免写，今晚的作业照常完成。",
        "The excuse is undone: tonight's work is to be done.",
    ),
    "excuse_reason": ("免写原因", "Reason"),
    "choose_reason": ("请选择原因", "Choose a reason"),
    "excuse_ill": ("身体不适", "Unwell"),
    "excuse_tired": ("孩子太累", "Too tired"),
    "excuse_family": ("家庭安排", "Family commitment"),
    "excuse_other": ("其他", "Other"),
    "excuse_detail": ("补充说明（可不填）", "Details (optional)"),
    "excuse_confirm": (
        "我确认：今晚的书面作业不做，也不会移到明天。",
        "I confirm: tonight's written work is not done, and it does not move to tomorrow.",
    ),
    "stop_evening": ("时间到了，停止今晚的作业", "Time is up: stop tonight's homework"),
    "time_up_cap": (
        "今晚的作业时间已经用完。剩下的 {n} 题记为“时间到未做”，不算错，也不会移到明天。",
        "Tonight's homework time is used up. The {n} items left are recorded as not done because time ran "
        "out: not counted as wrong, not moved to tomorrow.",
    ),
    "time_up_bedtime": (
        "已经到了就寝时间。剩下的 {n} 题记为“时间到未做”，不算错，也不会移到明天。",
        "It is bedtime. The {n} items left are recorded as not done because time ran out: not counted "
        "as wrong, not moved to tomorrow.",
    ),
    "stopped": ("今晚的作业已停止：时间到了。", "Tonight's homework is stopped: time is up."),
    "stopped_cap": ("今晚的作业时间已用完，已停止（作业熔断）。", "Tonight's time was used up: stopped."),
    "stopped_bedtime": (
        "到了就寝时间，今晚的作业已停止（作业熔断）。",
        "Bedtime came: tonight's homework stopped.",
    ),
    "book_open_n": ("未订正 {n} 题", "{n} open"),
    "book_print": ("打印错题本", "Print the error book"),
    "book_record_note": (
        "错题记录，供查看，不是额外作业：复习题只会在每晚的时间里安排（T11）。",
        "A record to look at, not extra homework: reviews come only within an evening's time (T11).",
    ),
    "question": ("题目", "Question"),
    "went_wrong": ("做错于", "Went wrong"),
    "right_since": ("之后做对了吗", "Right since?"),
    "yes_on": ("做对了（{day}）", "yes ({day})"),
    "not_yet": ("还没有", "not yet"),
    "timed_out": ("⏸ 时间到，未做（不算错）", "⏸ Not done: time ran out (not counted as wrong)"),
}


def word(lang: str, key: str, **values: object) -> str:
    zh, en = WORDS[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def subject_name(lang: str, subject: str) -> str:
    return SUBJECTS_EN.get(subject, subject) if lang == "en" else SUBJECTS.get(subject, subject)


def kind_name(lang: str, kind: str) -> str:
    return KINDS_EN.get(kind, kind) if lang == "en" else ITEM_KINDS.get(kind, kind)


def error_name(lang: str, error: str | None) -> str:
    if not error:
        return ""
    return ERRORS_EN.get(error, error) if lang == "en" else ERROR_TYPES.get(error, error)


def tier_name(lang: str, tier: str) -> str:
    zh, en = TIERS.get(tier, (tier, tier))
    return en if lang == "en" else zh


def status_name(lang: str, status: str) -> str:
    zh, en = STATUSES.get(status, (status, status))
    return en if lang == "en" else zh


# The head teacher's evening (issue 17): which subjects have homework tonight, excused evenings.
WORDS |= {
    "homework_tonight": ("今晚有作业的学科：", "Subjects with homework tonight: "),
    "no_homework_tonight": ("今晚还没有任何学科生成或发布作业。", "No subject has homework tonight yet."),
    "handed_out_n": ("已发布 {n} 人", "handed out to {n}"),
    "drafts_n": ("草稿 {n} 份未发布", "{n} drafts not published"),
    "subject_parts": ("{subject}（{parts}）", "{subject} ({parts})"),
    "part_sep": ("，", "; "),
    "list_sep": ("、", ", "),
    "excused_n": ("{n} 人今晚免写（不计时间）", "{n} excused tonight (no minutes counted)"),
    "handed_out_subjects": ("已发布：", "Handed out: "),
    "tonight_sets": ("今晚的作业", "Tonight's sets"),
    "exempt_no_minutes": ("免写：今晚不计时间", "excused: no minutes counted tonight"),
}


# The district's (教育局) pages (issue 19).
WORDS |= {
    "district_title": ("作业监测（教育局）", "Homework monitoring (district)"),
    "district_notices": ("各班作业公示", "Every class's weekly notice"),
    "district_period": ("统计时段", "Period"),
    "district_from": ("从", "From"),
    "district_to": ("到", "To"),
    "district_whole": ("全区合计", "District total"),
    "district_school": ("学校", "School"),
    "district_unit": ("班级", "Class"),
    "district_classes": ("班级数", "Classes"),
    "district_students": ("人数", "Students"),
    "district_within_est": ("按预计时长未超时班级", "Classes within the cap (estimated)"),
    "district_within_rep": ("按实际时长未超时班级", "Classes within the cap (reported)"),
    "district_over": ("实际超时晚数", "Reported evenings over the cap"),
    "district_over_nights": ("超时天数", "Nights with any"),
    "district_over_by": ("平均超时（分钟）", "Minutes over, on average"),
    "district_tiers": ("分层作业占比", "Sets with both tiers"),
    "district_non_written": ("非书面作业占比（C7）", "Non-written items (C7)"),
    "district_exemptions": ("免写次数（T12）", "Exemptions (T12)"),
    "district_withheld": ("人数不足，不单列", "too few students to show"),
    "district_over_schools": ("有超时的学校", "Schools with evenings over the cap"),
    "district_over_units": ("有超时的班级", "Classes with evenings over the cap"),
    "district_none": ("无", "none"),
    "district_download": ("下载", "Download"),
    "district_report": ("半月报告（签发）", "Half-monthly report (signed)"),
    "district_note": (
        "只含班级和学校的合计，不含任何学生个人信息；人数少于 {n} 的班级并入“其他班级”，仍不足则不单列。",
        "Classes and schools as a whole, no individual data; classes under {n} students are merged into "
        "'other classes', and withheld if still too few.",
    ),
    "district_shown_only": (
        "合计只含列出的班级；{n} 个班级人数不足，不单列也不计入合计",
        "totals over shown classes only; {n} classes withheld",
    ),
    "district_chart": ("各校未超时班级占比", "Share of each school's classes within the cap"),
}
